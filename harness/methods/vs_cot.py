from __future__ import annotations

from randbench.harness.methods.base import register_method
from randbench.harness.methods.vs_standard import VerbalizedOptions, VsStandard

INSTRUCTION = (
    "Generate {k} responses to the input prompt using chain-of-thought reasoning. "
    "Randomly sample the responses from the full distribution.\n"
    'First, provide a single "reasoning" field as a string, detailing your step-by-step '
    "thought process.\n"
    'Then, return the output in JSON format with the key "responses" (list of dicts). '
    "Each dictionary must include:\n"
    "- text: the response string only (no explanation or extra text).\n"
    "- probability: the estimated probability from 0.0 to 1.0 of this response given the "
    "input prompt (relative to the full distribution).\n"
    "Give ONLY the JSON object, with no explanations or extra text."
)


class VsCotOptions(VerbalizedOptions):
    instruction: str = INSTRUCTION


@register_method("vs_cot")
class VsCot(VsStandard):
    """Verbalized Sampling with reasoning first, then the k responses with probabilities.

    "VS-CoT" of Zhang et al. (2025), arXiv:2510.01171, Appendix prompts: a ``reasoning``
    field before the ``responses`` list. Read and measured as ``vs_standard`` (the list of
    objects is found wherever the reasoning ends); reasoning needs tokens, so give it a
    larger ``--max-tokens``.
    """

    Options = VsCotOptions
