"""Where task data comes from: a local path, the data root, or (opt-in) the hub.

Resolution order for a task's data:
1. ``--data PATH`` (a file or folder);
2. ``$MEDSAGE_DATA_DIR/<task.default_data>`` (e.g. a copy of the public files);
3. with downloads allowed (``--download`` or ``MEDSAGE_ALLOW_DOWNLOAD=1``), the task's
   Hugging Face hub file, fetched once into the cache (``$MEDSAGE_CACHE_DIR/data``).
Nothing is ever downloaded unless the user asked for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from medsage.cache import default_cache_dir
from medsage.errors import DataError

log = logging.getLogger(__name__)
HUB_ENDPOINT = "https://huggingface.co"


def resolve_data(task: Any, data: str | None, download: bool = False) -> Path:
    """Return a local path holding ``task``'s data (see module docstring)."""
    if data:
        if data.startswith(("hf://", "https://", "http://")):
            return fetch(data if not data.startswith("hf://") else hub_url(*_split_hf(data)))
        path = Path(data).expanduser()
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        return path
    default = getattr(task, "default_data", None)
    root = os.environ.get("MEDSAGE_DATA_DIR")
    if root and default and (Path(root) / default).exists():
        return Path(root) / default
    hub = getattr(task, "hub", None)
    allowed = download or os.environ.get("MEDSAGE_ALLOW_DOWNLOAD") == "1"
    if hub and allowed:
        return fetch(hub_url(hub["repo"], hub["file"]))
    hint = f" (usually {default})" if default else ""
    extra = " or allow a download with --download" if hub else ""
    raise DataError(f"task {task.name} needs its data: pass --data PATH{hint}, set MEDSAGE_DATA_DIR{extra}")


def _split_hf(uri: str) -> tuple[str, str]:
    parts = uri[len("hf://"):].split("/", 2)
    if len(parts) < 3:
        raise DataError(f"bad hub address {uri}: expected hf://owner/dataset/path/in/repo")
    return f"{parts[0]}/{parts[1]}", parts[2]


def hub_url(repo: str, file: str, revision: str = "main") -> str:
    """The download URL of a file in a Hugging Face dataset repository."""
    endpoint = os.environ.get("HF_ENDPOINT", HUB_ENDPOINT).rstrip("/")
    return f"{endpoint}/datasets/{repo}/resolve/{revision}/{file}"


def fetch(url: str, cache_dir: Path | None = None, timeout: float = 60.0) -> Path:
    """Download ``url`` once into the cache and return the local path.

    The file is written to a temporary name and renamed when complete, so an
    interrupted download never leaves a truncated file that looks valid.
    """
    cache = (cache_dir or default_cache_dir() / "data")
    cache.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(url.encode()).hexdigest()[:16] + "-" + Path(url.split("?")[0]).name
    target = cache / name
    if target.exists() and target.stat().st_size > 0:
        return target
    headers = {"User-Agent": "medsage"}
    token = os.environ.get("HF_TOKEN")
    if token and url.startswith(os.environ.get("HF_ENDPOINT", HUB_ENDPOINT)):
        headers["Authorization"] = f"Bearer {token}"
    log.info("downloading %s", url)
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as resp, \
                tempfile.NamedTemporaryFile(dir=cache, delete=False) as tmp:
            shutil.copyfileobj(resp, tmp)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from exc
    os.replace(tmp.name, target)
    return target
