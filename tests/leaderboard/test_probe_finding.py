"""The conditional-rule probe's finding: a line per training seed citing the probe's own
result file, and a statement that says when the verdict flips between seeds."""

from __future__ import annotations

import json
from pathlib import Path

from randbench.leaderboard.findings import conditional_rule
from randbench.leaderboard.probes import ProbeFile, probe_files, read_probe_files


def probe_document(capitals: list[float], ratios: list[float]) -> dict[str, object]:
    verdicts = {
        str(seed): {
            "capital_treatment": capital,
            "ratio_control": ratio,
            "reinforced": capital > 1e-4 and ratio > 10,
            "side": "conditional rule reinforced"
            if capital > 1e-4 and ratio > 10
            else "unconditional rule learnt",
        }
        for seed, (capital, ratio) in enumerate(zip(capitals, ratios, strict=True))
    }
    runs = [
        {
            "arm": "treatment",
            "seed": seed,
            "curve": [
                {
                    "step": 8,
                    "test": {"test_answer": [c, c]},
                    "train": {"mean": {"train_answer": 0.9}},
                }
            ],
        }
        for seed, c in enumerate(capitals)
    ]
    return {
        "probe": "conditional_rule",
        "settings": {
            "base": "smollm2",
            "eval_every": 4,
            "train": {
                "learning_rate": 0.001,
                "completion_only_loss": True,
                "epochs": 4.0,
                "max_steps": -1,
                "batch_size": 8,
            },
        },
        "pairs": [{"name": "A"}, {"name": "B"}],
        "verdicts": verdicts,
        "runs": runs,
        "ambiguous": len({v["reinforced"] for v in verdicts.values()}) > 1,
    }


def test_each_seed_is_a_line_citing_the_file_and_a_flip_is_called_ambiguous(
    tmp_path: Path,
) -> None:
    path = tmp_path / "probes" / "probe_conditional_rule_smollm2_2026-12-07T00-00-00Z.json"
    path.parent.mkdir()
    path.write_text(json.dumps(probe_document([2e-4, 3e-4, 5e-5], [20.0, 30.0, 40.0])))
    assert probe_files(tmp_path) == [path]
    finding = conditional_rule(read_probe_files([path]))
    assert [line.cells[0] for line in finding.lines] == [
        "2 pairs, 4 epochs (8 steps of 8), lr 0.001, answer loss"
    ] * 3
    assert finding.lines[0].command == (
        "randbench probe conditional-rule --model smollm2 --pairs 2 --epochs 4 "
        "--learning-rate 0.001 --batch-size 8 --seeds 0,1,2 --eval-every 4"
    )
    assert [line.cells[1] for line in finding.lines] == ["0", "1", "2"]
    assert [line.cells[5] for line in finding.lines] == [
        "conditional rule reinforced", "conditional rule reinforced", "unconditional rule learnt",
    ]  # fmt: skip
    document = json.loads(path.read_text())
    for line in finding.lines:
        for cited in line.figures:
            seed, key = cited.path.split(".")[1:]
            assert cited.source == path.name
            assert document["verdicts"][seed][key] == cited.value
    (statement,) = finding.statements
    assert 'says "conditional rule reinforced" on 2 of 3 seeds' in statement
    assert "ambiguous" in statement and "Inconclusive" not in statement
    for run in document["runs"]:
        run["curve"][-1]["train"]["mean"]["train_answer"] = 0.01
    path.write_text(json.dumps(document))
    (statement,) = conditional_rule(read_probe_files([path])).statements
    assert "training left P(country | TRAIN) at 0.01 on average" in statement
    assert "Inconclusive for the bet" in statement


def test_the_most_favourable_setting_is_the_learnt_one_with_most_capital(tmp_path: Path) -> None:
    weak = probe_document([5e-4, 5e-4], [20.0, 20.0])
    for run in weak["runs"]:
        run["curve"][-1]["train"]["mean"]["train_answer"] = 0.03
    strong = probe_document([2e-4, 3e-5], [20.0, 20.0])
    files = [ProbeFile(tmp_path / f"{name}.json", document)
             for name, document in (("weak", weak), ("strong", strong))]  # fmt: skip
    statement = conditional_rule(files).statements[-1]
    assert statement.startswith("Most favourable setting")
    assert "among the 1 of 2 settings tried whose pairs were learnt" in statement
    assert "mean P(capital | treatment, TEST) 0.000115" in statement
    assert (
        'criterion is split: "conditional rule reinforced" on 1, "unconditional rule' in statement
    )
    for run in strong["runs"]:
        run["curve"][-1]["train"]["mean"]["train_answer"] = 0.1
    assert "none of the 2 settings tried learnt the pairs" in conditional_rule(files).statements[-1]


def random_document(probe: str, shares: list[list[float]]) -> dict[str, object]:
    """A randomness probe's result: per seed (rows), the share of the named answer at the
    untrained branch, before and after."""
    named = "test" if probe.endswith("reverse") else "trained"
    spec = {"probe": probe, "description": "d", "modes": {"train": "FIXED", "test": "RANDOM"},
            "train_answer": None if named == "test" else "4",
            "test_answer": "4" if named == "test" else None}  # fmt: skip
    runs = [
        {"arm": arm, "seed": seed, "curve": [
            {"step": step, "test": {"tvd_to_uniform": share / 2,
                                    f"share_of_{named}_answer": share}}
            for step, share in zip((0, 8), row, strict=True)]}
        for arm in ("treatment", "control") for seed, row in enumerate(shares)
    ]  # fmt: skip
    train = {"epochs": 2.0, "max_steps": -1, "learning_rate": 0.001, "batch_size": 8}
    settings = {"base": "smollm2", "eval_every": 2, "seeds": [0, 1], "train": train}
    return {"probe": probe, "spec": spec, "runs": runs, "settings": settings}


def test_a_randomness_probe_reads_as_before_and_after_per_arm_with_its_command(
    tmp_path: Path,
) -> None:
    from randbench.leaderboard.findings import conditional_random
    from randbench.leaderboard.probes import probe_view

    forward_document = random_document("conditional_random", [[0.2, 0.99], [0.2, 0.97]])
    reverse_document = random_document("conditional_random_reverse", [[0.9, 0.5], [0.9, 0.3]])
    forward = ProbeFile(tmp_path / "probe_conditional_random_x.json", forward_document)
    reverse = ProbeFile(tmp_path / "probe_conditional_random_reverse_x.json", reverse_document)
    view = probe_view(forward)
    assert view.columns == ["seed", "arm", "TVD to a fair draw at RANDOM", "share of 4 at RANDOM"]
    assert view.rows[1] == ["1", "treatment", "0.1 → 0.485", "0.2 → 0.97"]
    assert forward.command() == (
        "randbench probe conditional-random --model smollm2 --epochs 2 --learning-rate 0.001 "
        "--batch-size 8 --seeds 0,1 --eval-every 2"
    )
    assert "--probe conditional_random_reverse" in reverse.command()
    finding = conditional_random([forward, reverse])
    shares = [line for line in finding.lines if line.cells[3] == "share of 4 at RANDOM"]
    assert [line.cells[4:] for line in shares[:1]] == [["0.2", "0.98 (0.97 – 0.99)"]]
    assert shares[0].figures[1].path == "runs.1.curve.1.test.share_of_trained_answer"
    assert "trained on answering 4 at FIXED only" in finding.statements[0]
    assert "trained on a fair draw at FIXED only" in finding.statements[1]
