"""meta: effect sizes, τ² estimators, random-effects pooling, heterogeneity, subgroups,
meta-regression, sensitivity and small-study-bias analyses, agreeing with R metafor 3.8.

A standalone statistics library on numpy, scipy and pandas: it imports nothing of the project.

>>> from meta import pool
>>> round(pool([0.1, 0.3, 0.2], [0.01, 0.02, 0.015], method="DL").estimate, 4)
0.1769
"""

from meta import effect_sizes
from meta._checks import METHODS, TESTS
from meta.bayes import BayesPoolResult, bayes_pool
from meta.bias import begg_test, egger_test, trim_and_fill
from meta.counts import pool_counts
from meta.few_studies import FewStudiesWarning, FewStudyModel, few_study_model
from meta.nma import NMAResult, nma
from meta.nma_records import nma_from_records
from meta.pooling import PI_TYPES, POOL_METHODS, PoolArrays, PoolResult, __version__, pool, pool_many
from meta.proportions import pool_proportions
from meta.regression import meta_regression
from meta.sensitivity import cumulative, influence, leave_one_out
from meta.subgroups import subgroup_test
from meta.table import pool_table, record_effect

__all__ = [
    "METHODS",
    "PI_TYPES",
    "POOL_METHODS",
    "TESTS",
    "BayesPoolResult",
    "FewStudiesWarning",
    "FewStudyModel",
    "NMAResult",
    "PoolArrays",
    "PoolResult",
    "__version__",
    "bayes_pool",
    "begg_test",
    "cumulative",
    "effect_sizes",
    "egger_test",
    "few_study_model",
    "influence",
    "leave_one_out",
    "meta_regression",
    "nma",
    "nma_from_records",
    "pool",
    "pool_counts",
    "pool_many",
    "pool_proportions",
    "pool_table",
    "record_effect",
    "subgroup_test",
    "trim_and_fill",
]
