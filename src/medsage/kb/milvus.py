"""The Milvus backend: Milvus Lite (a local ``.db`` file) or a Milvus server/cluster.

``pip install 'medsage[milvus]'`` (``pymilvus`` and ``milvus-lite``). URIs (see
:mod:`medsage.kb.backend`): ``kb.db``, ``milvus:./kb.db#name``, ``http://host:19530#name``.

Layout: the alias ``NAME`` points at the live collection ``NAME_gN``; ``NAME_gN_meta``
holds one row of JSON settings (embedder, dimension, languages, the rows used to
estimate each language's median cosine), written *after* all chunks, so a collection
without it is a half-built knowledge base. A rebuild writes ``NAME_gN+1`` and moves
the alias, so searches never see a half-built one; ``add`` and ``remove`` change the
live collection in place (Milvus deletes and inserts; no re-embedding of other rows).

Each row: the chunk's fields, its dense vector (inner product of normalised vectors =
cosine) and its BM25 sparse vector, computed by Milvus's built-in BM25
function from ``tokens``: medsage's own tokens (jieba for Chinese, stemmed English,
:func:`medsage.kb.text.tokenize`), each written as a short hash so that any Milvus
analyzer keeps it whole. BM25 statistics therefore follow adds and removes.

The dense index follows the embedded store's rule: a build of fewer than
:data:`medsage.kb.ann.ANN_MIN_CHUNKS` chunks gets a FLAT index (exact search, the same
candidates as the embedded store), a larger one HNSW, searched with ``ef`` of at least
:data:`EF_SEARCH`. (On a 2,759-chunk KB and 380 benchmark queries, Milvus Lite's HNSW at
ef 64 missed the exact best chunk of 5 queries, recall@10 0.988, @50 0.967; at ef 256
recall@10 was 1.0 and @50 0.999.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError, MissingExtraError
from medsage.kb.backend import Filters, check_args, clean_query, fused_search, split_milvus_uri
from medsage.kb.crosslingual import english_for
from medsage.kb.types import Chunk, Hit

FORMAT = "medsage-kb-milvus/1"
MEDIAN_SAMPLE = 2048
BATCH = 512
FIELDS = ("chunk_id", "doc_id", "title", "section", "text", "source", "url", "language", "licence")
_LIMITS = {"chunk_id": 512, "doc_id": 1024, "title": 2048, "section": 2048, "text": 65535,
           "source": 64, "url": 2048, "language": 16, "licence": 256}
# Milvus's default, Bounded, lets a read miss writes of the last seconds (a server or cluster;
# Milvus Lite always reads its own writes). ``add`` reads the settings row (next primary key)
# and the rows it replaces in a fresh connection, and other processes read what a build wrote:
# a stale view there means reused primary keys, duplicate chunks or a "half-written" error.
CONSISTENCY = "Strong"
EF_SEARCH = 256  # the least HNSW search breadth (ef); a search for more rows uses twice their number
MIN_SERVER = (2, 5)  # the first Milvus with sparse vectors and the BM25 function
log = logging.getLogger(__name__)


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise MissingExtraError("pymilvus", "milvus", "Milvus knowledge bases") from exc
    return pymilvus


def connect(uri: str, *, must_exist: bool = True) -> tuple[Any, str]:
    """A ``MilvusClient`` for ``uri`` and the collection (alias) name.

    Raises:
        DataError: when the server cannot be reached, is older than :data:`MIN_SERVER`,
            or the Lite file does not exist.
    """
    pm = _pymilvus()
    conn, name = split_milvus_uri(uri)
    local = not conn.lower().startswith(("http://", "https://", "tcp://", "grpc://"))
    if local:
        path = Path(conn).expanduser()
        if must_exist and not path.exists():
            raise DataError(f"knowledge base {uri} does not exist (build it with: medsage kb build --out {uri} SOURCE…)")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = str(path)
        # Milvus Lite serves gRPC from this process and logs every call pymilvus makes that it
        # does not implement (AllocTimestamp, which pymilvus then does without) with a traceback
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    if not log.isEnabledFor(logging.DEBUG):
        # pymilvus logs every failed call with a traceback before raising it (a missing alias
        # included); medsage reports each failure itself, in one line
        logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    lite_log = logging.getLogger("milvus_lite")
    level = lite_log.level
    lite_log.setLevel(logging.CRITICAL)  # its start-up failure is reported below, in one line
    try:
        client = pm.MilvusClient(uri=conn, timeout=10)
    except ImportError as exc:
        raise MissingExtraError("milvus-lite", "milvus", "Milvus Lite files") from exc
    except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds for "unreachable"
        hint = ""
        if local:
            hint = (" (a Milvus Lite file can be open in one process at a time: is another medsage "
                    "process using it? Several processes need a Milvus server, http://host:19530)")
        raise DataError(f"cannot open Milvus at {conn}: {_short(exc)}{hint}" if local
                        else f"cannot reach Milvus at {conn}: {_short(exc)}") from exc
    finally:
        lite_log.setLevel(level)
    try:
        check_server(client, conn)
    except DataError:
        client.close()
        raise
    return client, name


def check_server(client: Any, conn: str) -> None:
    """Check that the Milvus behind ``client`` can hold a medsage knowledge base.

    Only a plain ``[v]MAJOR.MINOR…`` version is compared with :data:`MIN_SERVER`: Milvus Lite
    reports ``milvus_lite-X.Y.Z`` (the ``milvus`` extra requires one with BM25) and a managed
    service may report its own name.

    Args:
        client: A connected ``MilvusClient``.
        conn: The file or server it is connected to, for the message.

    Raises:
        DataError: The server is older than :data:`MIN_SERVER`, or the version call fails.
    """
    try:
        version = str(client.get_server_version())
    except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds for "unreachable"
        raise DataError(f"cannot reach Milvus at {conn}: {_short(exc)}") from exc
    found = re.match(r"v?(\d+)\.(\d+)", version.strip())
    if found and (int(found[1]), int(found[2])) < MIN_SERVER:
        need = ".".join(map(str, MIN_SERVER))
        raise DataError(f"Milvus server {version} at {conn} is too old: medsage needs Milvus ≥ {need} "
                        "(sparse vectors, BM25 function)")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc)
    return " ".join(text.split())[:300]


def token_text(text: str) -> str:
    """``text`` as medsage's tokens, each a 13-character hash (see the module docstring)."""
    from medsage.kb.text import tokenize

    return " ".join("t" + hashlib.blake2b(t.encode(), digest_size=6).hexdigest() for t in tokenize(text))


def _cut(value: str, limit: int) -> str:
    data = value.encode("utf-8")
    return value if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def _literal(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in sorted(values)) + "]"


def filter_expr(filters: Filters, language: str | None = None) -> str:
    """A Milvus boolean expression for ``filters`` (and one language)."""
    parts = []
    for field, values in (("source", filters.sources), ("language", filters.languages),
                          ("licence", filters.licences)):
        if values:
            parts.append(f"{field} in {_literal(values)}")
    if language is not None:
        parts.append(f"language == {json.dumps(language, ensure_ascii=False)}")
    return " and ".join(parts)


class MilvusKB:
    """A knowledge base in Milvus, searched like the embedded store.

    Raises:
        DataError: unreachable server, missing or half-built knowledge base, or a
            collection whose embedding dimension differs from the embedder's.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client, self.name = connect(uri)
        self.collection, self.meta = _live(self.client, self.name, uri)
        self.path = uri
        self._samples: dict[str, np.ndarray] = {}
        self.exact = self.meta.get("dense_index") == "FLAT"  # older builds: HNSW
        if self.meta.get("dense"):
            from medsage.embed import DIM

            dim = int(self.meta["dense"].get("dim", 0))
            if dim != DIM:
                raise DataError(f"knowledge base {uri}: its vectors have dimension {dim}, the embedder "
                                f"makes {DIM}; rebuild it with this medsage")

    @property
    def has_dense(self) -> bool:
        """Whether the collection was built with embeddings (the manifest's ``dense``)."""
        return bool(self.meta.get("dense"))

    @property
    def manifest(self) -> dict[str, Any]:
        """The stored manifest of this knowledge base (the same keys as a folder KB's)."""
        return self.meta

    def languages(self) -> list[str]:
        """The languages the manifest records for the collection."""
        return list(self.meta.get("languages", []))

    def _call(self, fn: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, fn)(collection_name=self.collection, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a server gone mid-request is one clear error
            raise DataError(f"Milvus {self.uri}: {fn} failed: {_short(exc)}") from exc

    def sparse_candidates(self, query: str, depth: int, filters: Filters) -> list[tuple[int, float]]:
        """BM25 (row, score) pairs from Milvus's full-text search, best first."""
        tokens = token_text(query)
        if not tokens:
            return []
        res = self._call("search", data=[tokens], anns_field="sparse", limit=depth, filter=filter_expr(filters),
                         output_fields=["pk"], search_params={"metric_type": "BM25"})
        out = [(int(h["pk"] if "pk" in h else h["id"]), abs(float(h["distance"]))) for h in res[0]]
        return [(i, s) for i, s in out if s > 0]

    def dense_candidates(self, qvec: Any, language: str, depth: int, filters: Filters) -> list[tuple[int, float]]:
        """(row, inner product) pairs among ``language`` chunks, best first (see the module docstring)."""
        params: dict[str, Any] = {"metric_type": "IP"}
        if not self.exact:
            params["params"] = {"ef": max(EF_SEARCH, 2 * depth)}
        res = self._call("search", data=[np.asarray(qvec, dtype=np.float32).tolist()], anns_field="dense",
                         limit=depth, filter=filter_expr(filters, language), output_fields=["pk"],
                         search_params=params)
        return [(int(h["pk"] if "pk" in h else h["id"]), float(h["distance"])) for h in res[0]]

    def _vectors(self, rows: Sequence[int]) -> dict[int, np.ndarray]:
        got = self._call("get", ids=[int(r) for r in rows], output_fields=["pk", "dense"])
        return {int(r["pk"]): np.asarray(r["dense"], dtype=np.float32) for r in got}

    def language_median(self, qvec: Any, language: str) -> float:
        """The median cosine of ``qvec`` with the build's fixed sample of ``language`` rows."""
        if language not in self._samples:
            rows = self.meta.get("median_rows", {}).get(language, [])
            vecs = self._vectors(rows) if rows else {}
            self._samples[language] = np.stack(list(vecs.values())) if vecs else np.zeros((0, len(qvec)), np.float32)
        sample = self._samples[language]
        return float(np.median(sample @ np.asarray(qvec, np.float32))) if len(sample) else 0.0

    def cosines(self, qvec: Any, rows: Sequence[int]) -> np.ndarray:
        """Cosine of ``qvec`` with the stored vectors at ``rows`` (0 for a row without one)."""
        vecs = self._vectors(rows)
        q = np.asarray(qvec, np.float32)
        return np.array([float(vecs[r] @ q) if r in vecs else 0.0 for r in rows], dtype=np.float32)

    def chunks_of(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks at ``rows``, fetched by primary key, in that order.

        Raises:
            DataError: A row is gone (removed by another process during the search).
        """
        if not rows:
            return []
        got = self._call("get", ids=[int(r) for r in rows], output_fields=["pk", *FIELDS])
        by_pk = {int(r["pk"]): Chunk.from_dict(r) for r in got}
        missing = [r for r in rows if int(r) not in by_pk]
        if missing:
            raise DataError(f"Milvus {self.uri}: rows {missing[:5]} vanished during the search (a concurrent remove?)")
        return [by_pk[int(r)] for r in rows]

    def search(self, query: str, k: int = 10, mode: str = "hybrid", sources: Iterable[str] | None = None,
               languages: Iterable[str] | None = None, depth: int = 50,
               licences: Iterable[str] | None = None, translate: bool | str = True) -> list[Hit]:
        """Same arguments and results as :meth:`medsage.kb.search.KnowledgeBase.search`."""
        check_args(mode, k)
        text, _ = clean_query(query)
        if mode == "dense" and not self.has_dense:
            raise DataError(f"knowledge base {self.uri} was built without embeddings; use --mode bm25 or rebuild")
        english = english_for(text, self.languages(), translate)
        return fused_search(self, text, k, mode, Filters.of(sources, languages, licences), depth, english)

    def iter_rows(self, fields: Sequence[str], step: int = 10_000) -> Iterable[dict[str, Any]]:
        """Every row's ``fields``, in primary-key ranges of ``step``."""
        top = int(self.meta.get("next_pk", 0))
        for lo in range(0, top, step):
            rows = self._call("query", filter=f"pk >= {lo} and pk < {lo + step}", output_fields=list(fields))
            yield from (sorted(rows, key=lambda r: int(r["pk"])) if "pk" in fields else rows)

    def stats(self) -> dict[str, Any]:
        """Counts by source and language from a scan of the collection (``bytes`` is 0)."""
        by_source: dict[str, int] = {}
        by_lang: dict[str, int] = {}
        docs: dict[str, set[str]] = {}
        n = 0
        for r in self.iter_rows(["source", "language", "doc_id"]):
            n += 1
            by_source[r["source"]] = by_source.get(r["source"], 0) + 1
            by_lang[r["language"]] = by_lang.get(r["language"], 0) + 1
            docs.setdefault(r["source"], set()).add(r["doc_id"])
        return {"path": self.uri, "backend": "milvus", "generation": self.collection,
                "updated": self.meta.get("updated"), "documents": len({d for ids in docs.values() for d in ids}),
                "chunks": n, "by_source": {s: {"documents": len(docs[s]), "chunks": c} for s, c in sorted(by_source.items())},
                "by_language": dict(sorted(by_lang.items())), "dense": self.meta.get("dense"),
                "ann": None if self.exact or not self.has_dense else {"library": "milvus", "index": "HNSW"},
                "sources": self.meta.get("sources", []), "bytes": 0}

    @property
    def chunks(self) -> _Chunks:
        """Every chunk, read in primary-key ranges (``len`` from the settings row)."""
        return _Chunks(self)

    def close(self) -> None:
        """Close the connection."""
        self.client.close()


class _Chunks:
    """Iterable over a Milvus knowledge base's chunks (like the embedded store's ``chunks``)."""

    def __init__(self, kb: MilvusKB) -> None:
        self._kb = kb

    def __len__(self) -> int:
        return int(self._kb.meta.get("chunks", 0))

    def __iter__(self) -> Iterator[Chunk]:
        return (Chunk.from_dict(r) for r in self._kb.iter_rows(["pk", *FIELDS]))


def _live(client: Any, name: str, uri: str) -> tuple[str, dict[str, Any]]:
    """The live collection behind alias ``name`` and its settings."""
    try:
        collection = client.describe_alias(alias=name)["collection_name"]
    except Exception as exc:  # noqa: BLE001 - no alias: never built, or a build did not finish
        try:
            names = client.list_collections()
        except Exception as exc2:  # noqa: BLE001
            raise DataError(f"cannot reach Milvus at {uri}: {_short(exc2)}") from exc2
        if any(n.startswith(f"{name}_g") for n in names):
            raise DataError(f"knowledge base {uri} is half-written (a build did not finish); rebuild it") from exc
        raise DataError(f"knowledge base {uri} does not exist (build it with: medsage kb build --out {uri} SOURCE…)") from exc
    try:  # a collection is searchable once loaded (after a restart, or in another process)
        client.load_collection(collection_name=collection)
        if client.has_collection(f"{collection}_meta"):
            client.load_collection(collection_name=f"{collection}_meta")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"knowledge base {uri}: cannot load {collection}: {_short(exc)}") from exc
    meta = _read_meta(client, collection)
    if meta is None:
        raise DataError(f"knowledge base {uri} is half-written: {collection} has no settings row; rebuild it")
    if meta.get("format") != FORMAT:
        raise DataError(f"knowledge base {uri}: unknown format {meta.get('format')!r}")
    return collection, meta


def _read_meta(client: Any, collection: str) -> dict[str, Any] | None:
    if not client.has_collection(f"{collection}_meta"):
        return None
    rows = client.query(collection_name=f"{collection}_meta", filter="pk == 0", output_fields=["info"])
    return json.loads(rows[0]["info"]) if rows else None


def write_meta(client: Any, collection: str, meta: dict[str, Any]) -> None:
    """Create or replace the settings row of ``collection``."""
    pm = _pymilvus()
    name = f"{collection}_meta"
    if not client.has_collection(name):
        schema = client.create_schema(auto_id=False)
        schema.add_field("pk", pm.DataType.INT64, is_primary=True)
        schema.add_field("info", pm.DataType.VARCHAR, max_length=65535)
        schema.add_field("v", pm.DataType.FLOAT_VECTOR, dim=2)
        index = client.prepare_index_params()
        index.add_index("v", index_type="FLAT", metric_type="L2")
        client.create_collection(name, schema=schema, index_params=index, consistency_level=CONSISTENCY)
    info = json.dumps(meta | {"updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, ensure_ascii=False)
    if len(info.encode()) > 65535:
        raise DataError("Milvus knowledge base: settings too large (too many sources listed)")
    client.upsert(collection_name=name, data=[{"pk": 0, "info": info, "v": [0.0, 0.0]}])


def create_collection(client: Any, name: str, dense_dim: int | None, exact: bool = False) -> None:
    """Create an empty chunk collection with BM25 (and dense, when ``dense_dim``) indexes.

    ``exact``: a FLAT dense index (every search exact) instead of HNSW.

    Raises:
        DataError: Milvus refused the schema or an index (the collection is dropped again).
    """
    pm = _pymilvus()
    schema = client.create_schema(auto_id=False)
    schema.add_field("pk", pm.DataType.INT64, is_primary=True)
    for field in FIELDS:
        schema.add_field(field, pm.DataType.VARCHAR, max_length=_LIMITS[field])
    schema.add_field("tokens", pm.DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     analyzer_params={"tokenizer": "standard"})
    schema.add_field("sparse", pm.DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(pm.Function(name="bm25", function_type=pm.FunctionType.BM25,
                                    input_field_names=["tokens"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    if dense_dim:
        schema.add_field("dense", pm.DataType.FLOAT_VECTOR, dim=dense_dim)
        if exact:
            index.add_index("dense", index_type="FLAT", metric_type="IP")
        else:
            index.add_index("dense", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 128})
    try:
        client.create_collection(name, schema=schema, index_params=index, consistency_level=CONSISTENCY)
    except Exception as exc:  # noqa: BLE001 - a server may create the collection, then refuse an index
        with contextlib.suppress(Exception):
            if client.has_collection(name):
                client.drop_collection(name)
        raise DataError(f"Milvus: cannot create collection {name}: {_short(exc)}") from exc


def rows_of(chunks: Sequence[Chunk], start_pk: int, vectors: np.ndarray | None) -> list[dict[str, Any]]:
    """Milvus rows for ``chunks`` with primary keys from ``start_pk``."""
    out = []
    for i, c in enumerate(chunks):
        row: dict[str, Any] = {"pk": start_pk + i, "tokens": _cut(token_text(c.index_text), 65535) or "t0"}
        row.update({f: _cut(str(getattr(c, f) or ""), _LIMITS[f]) for f in FIELDS})
        if vectors is not None:
            row["dense"] = vectors[i].astype(np.float32).tolist()
        out.append(row)
    return out
