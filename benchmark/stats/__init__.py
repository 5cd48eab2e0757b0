"""The statistics: pure functions on arrays, scipy where scipy is right (see STATISTICS.md).

Modules by job: ``categorical`` (finite supports), ``discrete`` (unbounded integers),
``continuous`` (known-parameter goodness of fit), ``sequences`` (coin flips),
``structured`` (permutations, subsets, strings), ``exact`` (logprob mode),
``uncertainty`` (intervals, FDR), ``evalue`` (anytime-valid stopping),
``compare`` (two models on one task).
"""

from randbench.stats.categorical import (
    binomial_test,
    chi_square,
    entropy_chao_shen,
    entropy_miller_madow,
    entropy_plugin,
    excess_tvd,
    g_test,
    js_divergence,
    kl_empirical_target,
    mode_share,
    normalised_entropy,
    support_coverage,
    tvd,
    tvd_null,
    tvd_rows,
)
from randbench.stats.compare import compare_counts
from randbench.stats.continuous import continuous_gof
from randbench.stats.discrete import discrete_ks
from randbench.stats.evalue import anytime_stop, dirichlet_multinomial_log_evalue
from randbench.stats.exact import (
    exact_entropy,
    exact_kl,
    exact_kl_target_model,
    exact_tvd,
    mass_outside_support,
    renormalise,
)
from randbench.stats.results import Interval, NullBand, TestResult
from randbench.stats.sequences import (
    alternation_rate,
    block_frequency,
    cumulative_sums,
    lag1_autocorrelation,
    longest_run,
    monobit,
    nist_block_frequency_p,
    nist_cusum_p,
    nist_monobit_p,
    nist_runs_p,
    runs,
    sequence_tests,
    serial,
)
from randbench.stats.structured import (
    duplicate_rate,
    inclusion_frequency,
    position_char_frequency,
    position_frequency,
)
from randbench.stats.uncertainty import bootstrap_ci, fdr, multinomial_ci, wilson_interval

__all__ = [
    "Interval",
    "NullBand",
    "TestResult",
    "alternation_rate",
    "anytime_stop",
    "binomial_test",
    "block_frequency",
    "bootstrap_ci",
    "chi_square",
    "compare_counts",
    "continuous_gof",
    "cumulative_sums",
    "dirichlet_multinomial_log_evalue",
    "discrete_ks",
    "duplicate_rate",
    "entropy_chao_shen",
    "entropy_miller_madow",
    "entropy_plugin",
    "exact_entropy",
    "exact_kl",
    "exact_kl_target_model",
    "exact_tvd",
    "excess_tvd",
    "fdr",
    "g_test",
    "inclusion_frequency",
    "js_divergence",
    "kl_empirical_target",
    "lag1_autocorrelation",
    "longest_run",
    "mass_outside_support",
    "mode_share",
    "monobit",
    "multinomial_ci",
    "nist_block_frequency_p",
    "nist_cusum_p",
    "nist_monobit_p",
    "nist_runs_p",
    "normalised_entropy",
    "position_char_frequency",
    "position_frequency",
    "renormalise",
    "runs",
    "sequence_tests",
    "serial",
    "support_coverage",
    "tvd",
    "tvd_null",
    "tvd_rows",
    "wilson_interval",
]
