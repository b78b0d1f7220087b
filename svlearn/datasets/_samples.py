# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""An embedded default: gray windows of scikit-learn's two sample images."""

import numpy as np
from sklearn.datasets import load_sample_images

from .._windows import extract_windows
from ._base import DatasetBunch, to_gray

__all__ = ["load_sample_windows"]

_DESCR = """\
Sample windows
--------------
Gray windows of the two photographs bundled with scikit-learn
(sklearn.datasets.load_sample_images, 427 x 640 pixels each): training windows
come from china.jpg and test windows from flower.jpg, so no test window shares
a pixel with a training window. Gray values are the ITU-R BT.601 luma
0.299 R + 0.587 G + 0.114 B, float32 in [0, 255]. With the default 32 x 32
windows at stride 8, each image gives 50 x 77 = 3,850 windows. No network is
needed.
"""


def load_sample_windows(*, window_shape=(32, 32), strides=(8, 8)):
    """Load gray windows of scikit-learn's sample images, split by image.

    A real-data default that needs no network and no download: the windows of
    ``china.jpg`` are the training set and those of ``flower.jpg`` the test
    set. With the defaults, each image (427 x 640 pixels) gives 50 x 77 =
    3,850 windows of 32 x 32 pixels.

    Read more in the :ref:`datasets user guide <datasets>` (``docs/datasets.md``).

    Parameters
    ----------
    window_shape : int or tuple of int (m, n), default=(32, 32)
        Number of rows and columns of each window.

    strides : int or tuple of int, default=(8, 8)
        Step between consecutive windows along rows and along columns.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (n_train_windows, m * n)
            Flattened float32 windows of ``china.jpg``.
        X_test : ndarray of shape (n_test_windows, m * n)
            Flattened float32 windows of ``flower.jpg``.
        origins_train : ndarray of shape (n_train_windows, 2)
            Row and column of each training window's top-left pixel.
        origins_test : ndarray of shape (n_test_windows, 2)
            Row and column of each test window's top-left pixel.
        images : list of ndarray of shape (427, 640)
            The two gray images, training image first.
        image_names : list of str
            ``["china.jpg", "flower.jpg"]``.
        DESCR : str
            Description of the dataset.

    See Also
    --------
    svlearn.extract_windows : The windowing used here.

    Examples
    --------
    >>> from svlearn.datasets import load_sample_windows
    >>> samples = load_sample_windows()
    >>> samples.X_train.shape, samples.X_test.shape
    ((3850, 1024), (3850, 1024))
    """
    sample = load_sample_images()
    names = [
        str(name).replace("\\", "/").rsplit("/", 1)[-1] for name in sample.filenames
    ]
    order = [names.index("china.jpg"), names.index("flower.jpg")]
    images = [to_gray(sample.images[i]) for i in order]
    splits = [
        extract_windows(image, window_shape, strides=strides, return_origins=True)
        for image in images
    ]
    (X_train, o_train), (X_test, o_test) = splits
    return DatasetBunch(
        X_train=X_train,
        X_test=X_test,
        origins_train=np.ascontiguousarray(o_train[:, 1:]),
        origins_test=np.ascontiguousarray(o_test[:, 1:]),
        images=images,
        image_names=[names[i] for i in order],
        DESCR=_DESCR,
    )
