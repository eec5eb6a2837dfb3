"""x264 settings chosen by measurement (``bench/picture.py``, docs/benchmarks.md).

CRF 16 keeps the untouched pixels of a clean master >= 45 dB PSNR against the
source (CRF 23, the sample's own, does not); "veryfast" is the fastest preset that
keeps the clean master and each burned language within their real-time budgets on
two shared cores. Kept apart from :mod:`localize.picture.frames` so the CLI's help
does not import numpy.
"""

DEFAULT_CRF = 14
DEFAULT_PRESET = "veryfast"
