"""Model providers behind one ``provider/model`` spec string."""

from medsage.models.base import Model, ModelSpec, get_model, option, parse_options, parse_spec

__all__ = ["Model", "ModelSpec", "get_model", "option", "parse_options", "parse_spec"]
