"""How a model computes: the settings, besides weights and input, that decide its output.

CTranslate2 splits its matrix products over ``intra_threads`` threads, and an int8 or
float32 kernel may round differently when the work is split differently. If every worker
chose its own thread count (its core count, or ``OMP_NUM_THREADS=1`` as a Dask nanny
sets it), the same episode could come out different depending on where it ran. So the
count is a run setting (``compute_threads``), fixed by default rather than taken from the
machine, passed down to every model, and recorded in the published manifest together with
the device and compute type the models ran with.

What this cannot pin is the CPU itself: AVX2 and AVX-512 kernels, or Intel's MKL and the
oneDNN path CTranslate2 takes on other CPUs, round differently. Outputs are identical
for the same settings on the same kind of CPU, not across kinds (docs/robustness.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: CPU threads per model unless a run says otherwise: a fixed number, never the worker's
#: core count, so that workers with different cores (or a Dask worker's
#: ``OMP_NUM_THREADS=1``) compute the same way. 2 suits the 2-core laptop this targets.
DEFAULT_COMPUTE_THREADS = 2
#: CTranslate2 ``inter_threads`` / faster-whisper ``num_workers``: one model replica.
#: Episodes running side by side queue on it; that changes timing, never results.
INTER_THREADS = 1


@dataclass(frozen=True)
class Numerics:
    """The numeric settings one loaded model runs with (recorded in the manifest)."""

    #: threads inside one computation (CTranslate2 ``intra_threads``)
    threads: int
    #: "cpu" or "cuda"
    device: str
    #: "int8", "float16", "float32"...
    compute_type: str
    #: model replicas computing in parallel (CTranslate2 ``inter_threads``)
    inter_threads: int = INTER_THREADS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_threads(threads: int) -> int:
    """``threads`` if it is a usable thread count, else a ``ValueError`` saying so."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"compute threads must be a whole number of at least 1, got {threads!r}")
    return threads


def ct2_numerics(
    threads: int,
    device: str = "auto",
    compute_type: str = "auto",
    *,
    gpu_type: str = "float16",
    cpu_type: str = "int8",
) -> Numerics:
    """What a CTranslate2 model loaded with these arguments computes with: a GPU if one
    is there (``auto``), ``gpu_type`` on it, ``cpu_type`` on a CPU, float32 on a CPU
    without int8 kernels. Loaders and the manifest both use this, so they agree."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = gpu_type if device == "cuda" else cpu_type
        if compute_type not in ctranslate2.get_supported_compute_types(device):
            compute_type = "float32"
    return Numerics(check_threads(threads), device, compute_type)
