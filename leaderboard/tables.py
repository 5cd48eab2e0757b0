"""The downloads: the index table and every task score, as CSV and JSON (pandas)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from randbench.leaderboard.board import Board
from randbench.result_schema import Entry

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Text cells a spreadsheet would run as a formula (CSV injection) get a leading quote."""


def leaderboard_frame(board: Board) -> pd.DataFrame:
    records = []
    for row in board.rows:
        record: dict[str, object] = {
            "rank": row.overall.rank,
            "model": row.label,
            "backend": row.model.backend,
            "method": row.method,
            "overall": _pct(row.overall.score),
            "overall_low": _pct(row.overall.interval[0] if row.overall.interval else None),
            "overall_high": _pct(row.overall.interval[1] if row.overall.interval else None),
            "scored_tasks": row.overall.tasks,
        }
        for category in board.categories:
            agg = row.categories.get(category)
            record[f"category_{category}"] = _pct(agg.score if agg else None)
        record.update(
            controls_accuracy=_pct(row.controls),
            validity=_pct(row.validity),
            consistent_tasks=row.passed[0] if row.passed else None,
            tested_tasks=row.passed[1] if row.passed else None,
            samples=row.samples,
            sampling=row.sampling,
            date=row.date.isoformat(),
            result_file=";".join(sorted({f.path.name for f in row.files.values()})),
            dependent_tasks=row.dependent,
            enumerating_tasks=";".join(row.enumerating),
            stopped_early_tasks=";".join(row.stopped),
            diversity_tasks=row.diversity.tasks if row.diversity else 0,
            diversity_placement=_pct(row.diversity.placement if row.diversity else None),
            diversity_classes_share=row.diversity.classes if row.diversity else None,
            diversity_vendi_share=row.diversity.vendi if row.diversity else None,
            diversity_distinct_2=row.diversity.distinct_2 if row.diversity else None,
            diversity_self_bleu=row.diversity.self_bleu if row.diversity else None,
        )
        records.append(record)
    return pd.DataFrame.from_records(records)


def task_frame(board: Board) -> pd.DataFrame:
    records = []
    for row in board.rows:
        for name, score in row.tasks.items():
            entry = row.data[name].entry
            records.append(
                {
                    "model": row.label,
                    "method": row.method,
                    "task": name,
                    "category": score.category,
                    "analysis": score.analysis,
                    "score": _pct(score.score),
                    "score_low": _pct(score.interval[0] if score.interval else None),
                    "score_high": _pct(score.interval[1] if score.interval else None),
                    "distance": score.distance,
                    "null_mean": score.null.mean if score.null else None,
                    "constant_distance": score.constant,
                    "validity": score.validity,
                    "n": score.n,
                    "n_valid": score.n_valid,
                    "test": entry.test,
                    "p_value": entry.p_value,
                    "control_accuracy": score.accuracy,
                    **_unit_facts(entry),
                }
            )
    return pd.DataFrame.from_records(records)


def _unit_facts(entry: Entry) -> dict[str, object]:
    """Within-call dependence, the stated distribution and seed agreement, where measured."""
    dep, said, seeds = entry.dependence, entry.verbalized, entry.reproducibility
    return {
        "distinct_rate": dep.distinct_rate if dep else None,
        "expected_distinct_rate": dep.expected_distinct_rate if dep else None,
        "enumerates": dep.enumerates if dep else None,
        "stated_tvd": said.tvd if said else None,
        "seed_agreement": seeds.agreement if seeds else None,
        "stopped_early_at": entry.stopped_early.units if entry.stopped_early else None,
        "planned_units": entry.stopped_early.planned if entry.stopped_early else None,
        **_diversity_facts(entry),
    }


def _diversity_facts(entry: Entry) -> dict[str, object]:
    """Open-ended tasks: every diversity metric of the answers (``diversity_*``)."""
    if entry.diversity is None:
        return {}
    model = entry.diversity.model.model_dump(exclude={"classes"})
    return {f"diversity_{name}": value for name, value in model.items()}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 4)


def _defuse(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text that a spreadsheet would read as a formula with a quote (CSV only)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
            )
    return out


def write_tables(board: Board, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, frame in (("leaderboard", leaderboard_frame(board)), ("tasks", task_frame(board))):
        csv_path, json_path = folder / f"{stem}.csv", folder / f"{stem}.json"
        _defuse(frame).to_csv(csv_path, index=False, lineterminator="\n")
        frame.to_json(json_path, orient="records", indent=1, double_precision=10)
        written += [csv_path, json_path]
    return written
