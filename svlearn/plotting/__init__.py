# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn style Display objects for the figures of the SV-Learn paper.

matplotlib is imported only when a display draws, so this module imports
without it.

- :class:`ErrorHistogramDisplay`: per-matrix NMSE and MAE histograms (Fig. 2).
- :class:`SpectrumDisplay`: predicted vs true spectra, log and linear, with
  the matrices (Figs. 3 and 4).
- :class:`ReconstructionDisplay`: matrices rebuilt from true, predicted or
  random singular values at several ranks, and by SVD-LIGHT (Figs. 5 and 6).
"""

from ._error_display import ErrorHistogramDisplay
from ._reconstruction_display import ReconstructionDisplay
from ._spectrum_display import SpectrumDisplay

__all__ = ["ErrorHistogramDisplay", "ReconstructionDisplay", "SpectrumDisplay"]
