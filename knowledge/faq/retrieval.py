"""A small FAISS index over L2-normalised embeddings, in the manner of txtai's FAISS backend.

``faiss.IndexIDMap`` maps every vector to an integer id (here: an answer template's id, which
several vectors may share); inner product on normalised vectors is cosine similarity. Below
``approximate_above`` vectors the index is exact (``IndexFlatIP``); above it an inverted-file
index (``IndexIVFFlat``, ``nlist = 2 * sqrt(n)``, ``nprobe`` probed lists) answers in far less
time at a measured recall (see ``benchmarks/bench_retrieval.py``). HNSW is available as
``kind="hnsw"`` but is not the automatic choice: at 1M vectors it takes many minutes to build on
two cores. With a CUDA build of faiss and a GPU, flat and IVF indexes are searched on the GPU.

``faiss`` and ``numpy`` are imported inside the methods so importing this module stays cheap.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
META_FILE = "meta.json"
KINDS = ("auto", "flat", "ivf", "hnsw")
# Exact search up to this many vectors. bench_retrieval (384 dims, 1 thread, shared 2-core box):
# flat p50 0.44 ms at 10k, 11.8 ms at 100k, 67 ms at 1M; IVF p50 0.14-0.5 ms at 100k with
# recall@10 1.0. Linear flat cost puts ~1 ms at 20k, so bigger indexes go approximate.
DEFAULT_APPROXIMATE_ABOVE = 20_000
# IVF lists probed per query (of 2*sqrt(n) lists). bench_retrieval at 1M (IVF2000, 1 thread,
# shared 2-core box): nprobe 8/16/32/64 -> p99 1.3/3.6/4.2/9.6 ms, recall@10 1.000 on its
# synthetic clusters. 16 keeps p99 under 5 ms with twice the probes that data needed.
DEFAULT_NPROBE = 16
# HNSW graph degree and search depth (only for kind="hnsw").
DEFAULT_HNSW_M = 32
DEFAULT_EF_SEARCH = 64
# IVF centroids are trained on at most this many points per list (a random, seeded sample).
TRAIN_POINTS_PER_LIST = 64
# k-means iterations of IVF training (faiss default 25; 10 trains 2.5x faster, loses little).
TRAIN_ITERATIONS = 10
TRAIN_SEED = 20240601

Hit = tuple[int, float]


def normalize(vectors: Any) -> Any:
    """Rows of ``vectors`` as a C-contiguous float32 array scaled to unit L2 norm (zeros stay 0)."""
    import numpy as np

    array = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {array.shape}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


def gpu_available() -> bool:
    """True when this faiss build has GPU support and sees at least one GPU."""
    import faiss

    try:
        return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    except Exception:
        logger.warning("faiss GPU probe failed; using the CPU", exc_info=True)
        return False


def ivf_lists(count: int) -> int:
    """Number of IVF lists for ``count`` vectors: 2*sqrt(n), at most one list per 39 vectors."""
    return max(1, min(int(2 * math.sqrt(count)), count // 39))


class FaissIndex:
    """Cosine-similarity search over id-tagged vectors: build / add / search / save / load."""

    def __init__(
        self,
        dimension: int,
        *,
        kind: str = "auto",
        approximate_above: int = DEFAULT_APPROXIMATE_ABOVE,
        nprobe: int = DEFAULT_NPROBE,
        hnsw_m: int = DEFAULT_HNSW_M,
        ef_search: int = DEFAULT_EF_SEARCH,
        use_gpu: bool | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.dimension = int(dimension)
        self.kind = kind
        self.approximate_above = approximate_above
        self.nprobe = nprobe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.use_gpu = use_gpu
        self.index_type = "flat"
        self.meta: dict[str, Any] = {}
        self._index: Any = None
        self._on_gpu = False
        self._gpu_resources: Any = None
        # Most vectors sharing one id: search over-fetches by this factor to return k distinct ids.
        self._max_per_id = 1
        self._id_counts: dict[int, int] = {}

    def __len__(self) -> int:
        """Number of vectors in the index."""
        return 0 if self._index is None else int(self._index.ntotal)

    @property
    def ids(self) -> list[int]:
        """The distinct ids in the index, sorted."""
        return sorted(self._id_counts)

    # --- building -------------------------------------------------------------------------

    def _resolved_kind(self, count: int) -> str:
        if count == 0:
            return "flat"  # nothing to train an IVF on; add() keeps a flat index exact anyway
        if self.kind != "auto":
            return self.kind
        return "ivf" if count > self.approximate_above else "flat"

    def _new_index(self, kind: str, count: int) -> Any:
        import faiss

        if kind == "flat":
            inner = faiss.IndexFlatIP(self.dimension)
        elif kind == "ivf":
            quantizer = faiss.IndexFlatIP(self.dimension)
            inner = faiss.IndexIVFFlat(
                quantizer, self.dimension, ivf_lists(count), faiss.METRIC_INNER_PRODUCT
            )
            inner.referenced_objects = [quantizer]  # keep the quantizer alive with the index
        else:
            inner = faiss.IndexHNSWFlat(self.dimension, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        return faiss.IndexIDMap(inner)

    def build(self, embeddings: Any, ids: Sequence[int]) -> None:
        """Replace the index by one over ``embeddings`` (normalised here) tagged with ``ids``."""
        import numpy as np

        vectors = self._check(embeddings, ids)
        started = time.perf_counter()
        kind = self._resolved_kind(len(vectors))
        index = self._new_index(kind, len(vectors))
        if kind == "ivf":
            import faiss

            inner = faiss.downcast_index(index.index)
            sample = min(len(vectors), TRAIN_POINTS_PER_LIST * inner.nlist)
            rng = np.random.default_rng(TRAIN_SEED)
            rows = np.sort(rng.choice(len(vectors), size=sample, replace=False))
            inner.cp.max_points_per_centroid = TRAIN_POINTS_PER_LIST
            inner.cp.niter = TRAIN_ITERATIONS
            inner.train(vectors[rows])
        self._index, self.index_type, self._id_counts, self._max_per_id = index, kind, {}, 1
        self._on_gpu = False
        self._apply_search_params()
        self._move_to_gpu_if_wanted()
        self.add(vectors, ids)
        self.meta["build_seconds"] = round(time.perf_counter() - started, 3)
        self.meta["built_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        logger.info(
            "Built %s index of %d vectors (%d ids) in %.2fs",
            kind,
            len(self),
            len(self._id_counts),
            self.meta["build_seconds"],
        )

    def add(self, embeddings: Any, ids: Sequence[int]) -> None:
        """Add ``embeddings`` (normalised here) with their ``ids``; builds the index if empty."""
        import numpy as np

        vectors = self._check(embeddings, ids)
        if self._index is None:
            self.build(vectors, ids)
            return
        id_array = np.asarray(ids, dtype=np.int64)
        if len(vectors):
            self._index.add_with_ids(vectors, id_array)
        for value in id_array.tolist():
            self._id_counts[value] = self._id_counts.get(value, 0) + 1
        self._max_per_id = max(self._id_counts.values(), default=1)

    def _check(self, embeddings: Any, ids: Sequence[int]) -> Any:
        import numpy as np

        if len(embeddings) == 0:
            vectors = np.zeros((0, self.dimension), dtype=np.float32)
        else:
            vectors = normalize(embeddings)
        if vectors.shape[1] != self.dimension:
            raise ValueError(
                f"vectors have dimension {vectors.shape[1]}, the index expects {self.dimension}"
            )
        if len(vectors) != len(ids):
            raise ValueError(f"{len(vectors)} vectors but {len(ids)} ids")
        return vectors

    def _apply_search_params(self) -> None:
        import faiss

        if self._index is None or self._on_gpu:
            return
        inner = faiss.downcast_index(self._index.index)
        if isinstance(inner, faiss.IndexIVF):
            inner.nprobe = self.nprobe
        elif isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = self.ef_search

    def _move_to_gpu_if_wanted(self) -> None:
        """Put a flat or IVF index on GPU 0 when asked (or, by default, when one is present)."""
        if self.index_type == "hnsw" or self.use_gpu is False:
            return
        if not gpu_available():
            if self.use_gpu:
                logger.warning("GPU search requested but no CUDA faiss/GPU found; using the CPU")
            return
        import faiss

        self._gpu_resources = faiss.StandardGpuResources()
        options = faiss.GpuClonerOptions()
        # The GPU clone copies nprobe from the CPU index (set just before by _apply_search_params).
        self._index = faiss.index_cpu_to_gpu(self._gpu_resources, 0, self._index, options)
        self._on_gpu = True
        logger.info("Answer index moved to GPU 0")

    # --- searching ------------------------------------------------------------------------

    def search(self, queries: Any, k: int = 5) -> list[list[Hit]]:
        """For each query vector, up to ``k`` distinct ids with their best cosine, best first."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        vectors = normalize(queries)
        if vectors.shape[1] != self.dimension:
            raise ValueError(
                f"query dimension {vectors.shape[1]} differs from the index's {self.dimension}"
            )
        if not len(self) or not len(vectors):
            return [[] for _ in range(len(vectors))]
        fetch = min(len(self), k * self._max_per_id)
        scores, labels = self._index.search(vectors, fetch)
        results: list[list[Hit]] = []
        for row_scores, row_labels in zip(scores.tolist(), labels.tolist(), strict=True):
            hits: list[Hit] = []
            seen: set[int] = set()
            for score, label in zip(row_scores, row_labels, strict=True):
                if label < 0 or label in seen:
                    continue
                seen.add(label)
                hits.append((int(label), float(score)))
                if len(hits) == k:
                    break
            results.append(hits)
        return results

    # --- persistence ----------------------------------------------------------------------

    def save(self, directory: Path, extra_meta: Mapping[str, Any] | None = None) -> Path:
        """Write ``index.faiss`` and ``meta.json`` into ``directory`` (atomically); returns it."""
        import faiss
        import numpy as np

        if self._index is None:
            raise ValueError("nothing to save: build the index first")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        index = faiss.index_gpu_to_cpu(self._index) if self._on_gpu else self._index
        meta = {
            **self.meta,
            **(extra_meta or {}),
            "dimension": self.dimension,
            "count": len(self),
            "distinct_ids": len(self._id_counts),
            "max_vectors_per_id": self._max_per_id,
            "index_type": self.index_type,
            "metric": "inner_product_on_l2_normalised",
            "params": {"nprobe": self.nprobe, "hnsw_m": self.hnsw_m, "ef_search": self.ef_search},
            "versions": {"faiss": faiss.__version__, "numpy": np.__version__},
        }
        self.meta = meta
        pid = os.getpid()
        tmp_index = directory / f".{INDEX_FILE}.{pid}.tmp"
        tmp_meta = directory / f".{META_FILE}.{pid}.tmp"
        faiss.write_index(index, str(tmp_index))
        tmp_meta.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp_index, directory / INDEX_FILE)
        os.replace(tmp_meta, directory / META_FILE)
        logger.info("Saved %s index (%d vectors) to %s", self.index_type, len(self), directory)
        return directory

    @staticmethod
    def read_meta(directory: Path) -> dict[str, Any] | None:
        """The ``meta.json`` of a saved index, or None when missing or unreadable."""
        path = Path(directory) / META_FILE
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    @classmethod
    def load(cls, directory: Path, *, use_gpu: bool | None = None) -> FaissIndex:
        """The index saved in ``directory``; raises FileNotFoundError when it is not there."""
        import faiss

        directory = Path(directory)
        meta = cls.read_meta(directory)
        index_path = directory / INDEX_FILE
        if meta is None or not index_path.exists():
            raise FileNotFoundError(f"no saved index (index.faiss + meta.json) in {directory}")
        params = meta.get("params", {})
        loaded = cls(
            int(meta["dimension"]),
            kind=meta.get("index_type", "flat"),
            nprobe=int(params.get("nprobe", DEFAULT_NPROBE)),
            hnsw_m=int(params.get("hnsw_m", DEFAULT_HNSW_M)),
            ef_search=int(params.get("ef_search", DEFAULT_EF_SEARCH)),
            use_gpu=use_gpu,
        )
        index = faiss.read_index(str(index_path))
        if index.d != loaded.dimension:
            raise ValueError(
                f"{index_path} has dimension {index.d}, meta.json says {loaded.dimension}"
            )
        loaded._index = index
        loaded.index_type = meta.get("index_type", "flat")
        loaded.meta = meta
        id_map = faiss.vector_to_array(faiss.downcast_index(index).id_map)
        for value in id_map.tolist():
            loaded._id_counts[value] = loaded._id_counts.get(value, 0) + 1
        loaded._max_per_id = max(loaded._id_counts.values(), default=1)
        loaded._apply_search_params()
        loaded._move_to_gpu_if_wanted()
        return loaded
