"""x264 settings chosen by measurement (``bench/picture.py``, docs/benchmarks.md).

CRF 14: the highest CRF measured (12, 14, 16) that keeps untouched pixels >= 45 dB PSNR against the
source on the hardest input tried (lossless, grainy generated scenes: CRF 16 gave
42.5 dB on a pan); on the sample episode CRF 14 gives 55 dB at 2.6 MB per 81 s.
"veryfast": superfast costs the same CPU on these pictures for files 65 % larger;
faster/medium cost ~30 % more CPU for files within 2 %. Kept apart from
:mod:`localize.picture.frames` so the CLI's help does not import numpy.
"""

DEFAULT_CRF = 14
DEFAULT_PRESET = "veryfast"
