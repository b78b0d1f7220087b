# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Real data for SV-Learn: CIFAR-10, Spambase, sample images and own files.

Loaders read the official formats from a data home (see :func:`get_data_home`)
and download them where a network exists; :func:`load_sample_windows` needs
neither. The ``*_protocol`` functions build the paper's train/test sets;
:func:`row_block_window_split` splits the windows of any matrix without leakage.
"""

from ._base import get_data_home
from ._cifar10 import load_cifar10
from ._files import load_matrices
from ._protocols import cifar10_protocol, spambase_protocol
from ._samples import load_sample_windows
from ._spambase import load_spambase
from ._splits import row_block_window_split

__all__ = [
    "cifar10_protocol",
    "get_data_home",
    "load_cifar10",
    "load_matrices",
    "load_sample_windows",
    "load_spambase",
    "row_block_window_split",
    "spambase_protocol",
]
