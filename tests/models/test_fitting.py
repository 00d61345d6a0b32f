"""A feature column without any value must not stop a fit, nor change what the model predicts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from models.fitting import fittable


def test_an_all_missing_column_is_fittable_and_ignored() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.random(300), np.full(300, np.nan), rng.random(300)])
    y = (x[:, 0] + 0.2 * rng.random(300) > 0.6).astype(int)
    with pytest.raises(ValueError, match="window shape"):  # what the library does without it
        HistGradientBoostingClassifier(max_iter=5).fit(x, y)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(fittable(x), y)
    filled = x.copy()
    filled[:, 1] = rng.normal(size=300) * 100  # values at prediction time in the column it never saw
    assert np.array_equal(model.predict_proba(x), model.predict_proba(filled))
    assert np.isnan(x[:, 1]).all()  # the caller's matrix is left as it was
    assert np.array_equal(fittable(x[:, [0, 2]]), x[:, [0, 2]])  # nothing to do: same values
