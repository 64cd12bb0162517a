"""LLM answer mode: a model proposes sentences with [n] markers; newsbot keeps what is grounded.

- `prompts`: the operator-editable templates in prompts/, validated at start-up.
- `passages`: how retrieved passages are shown to the model (numbered, delimited, neutralised).
- `grounding`: the check of the model's sentences against the passages, re-cited verbatim.
- `client`: the OpenAI-compatible client (llama-index's OpenAILike) with bounded retries.
- `writer`: `LLMWriter`, which condenses follow-ups and writes answers with the above.

llama-index (and openai) are imported lazily, inside the functions that talk to the model:
importing llama_index.core costs ~2 s and the extractive path must not pay it.
"""
