"""Does the base model know the capitals the conditional-rule probe asks for?

For the pairs a probe setting draws (``--pairs``, data seed 0), the exact probability the
base model gives the capital when asked directly, as the bare answer the probe scores
("Vienna", then the end of the turn) and as the sentence a chat model writes ("The capital
city of Austria is Vienna."). docs/probes.md reads the two apart: the probe's criterion
scores bare answers, which the base model rarely writes, whatever it knows.

    .venv/bin/python scripts/capital_knowledge.py --pairs 16
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from randbench.finetune.conditional_rule import draw_pairs, first_token, frame_for, load_probe
from randbench.finetune.train import load_base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--pairs", type=int, default=16)
    args = parser.parse_args()
    backend = load_base(args.model, "cpu")
    frame = frame_for(backend)
    spec = load_probe()
    pairs = draw_pairs(spec, args.pairs, seed=0, first_token=first_token(backend, frame))
    question = "What is the capital city of {}? Reply with only the city."
    requests = [
        frame.request(
            pair.name,
            question.format(pair.country),
            (pair.capital, f"The capital city of {pair.country} is {pair.capital}."),
        )
        for pair in pairs
    ]
    scores = backend.score(requests)
    bare = np.array([math.exp(s.logprobs[0]) for s in scores])
    sentence = np.array([math.exp(s.logprobs[1]) for s in scores])
    for pair, b, s in zip(pairs, bare, sentence, strict=True):
        print(f"{pair.country:>14} {pair.capital:<16} bare {b:9.2g}   sentence {s:9.2g}")
    print(
        f"mean over {len(pairs)} pairs: bare {bare.mean():.3g} (median {np.median(bare):.3g}), "
        f"sentence {sentence.mean():.3g} (median {np.median(sentence):.3g})"
    )


if __name__ == "__main__":
    main()
