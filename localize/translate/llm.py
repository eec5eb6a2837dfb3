"""Context-aware translation with an instruction LLM (ChatML) on CTranslate2's Generator.

Prompts, strict reply parsing and the request loop are shared with the HTTP engine
(``localize.translate.chat``); this module only loads the model and runs
``generate_batch``, several requests per call, with the system prompt cached.
"""

from __future__ import annotations

import logging
from pathlib import Path

from localize.errors import ModelError
from localize.models import ModelStore
from localize.numerics import DEFAULT_COMPUTE_THREADS, Numerics, ct2_numerics
from localize.translate.chat import (
    ChatEngine,
    LLMOptions,
    balanced_split,
    build_system_prompt,
    build_user_prompt,
    chatml,
    language_name,
    parse_numbered_reply,
)

__all__ = [
    "DEFAULT_MT_MODEL",
    "LLMOptions",
    "LLMTranslator",
    "balanced_split",
    "build_system_prompt",
    "build_user_prompt",
    "chatml",
    "language_name",
    "pad_to_longest",
    "parse_numbered_reply",
    "token_batches",
]

log = logging.getLogger(__name__)

DEFAULT_MT_MODEL = "qwen2.5-coder-1.5b-instruct"


class LLMTranslator(ChatEngine):
    """Translator backend for ChatML instruction models converted to CTranslate2.

    ``model`` is the packaged default, a CTranslate2 Generator folder, a folder holding a
    GGUF (converted once), or a Hugging Face repo id / transformers folder of a causal LM
    (converted once with CTranslate2's converter).
    """

    def __init__(
        self,
        model: str = DEFAULT_MT_MODEL,
        *,
        store: ModelStore | None = None,
        device: str = "auto",
        compute_type: str = "auto",
        options: LLMOptions | None = None,
        threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> None:
        import ctranslate2
        from tokenizers import Tokenizer

        store = store or ModelStore()
        folder = store.resolve_generator(model)
        self.numerics = self.plan_numerics(threads, device, compute_type)
        device, compute_type = self.numerics.device, self.numerics.compute_type
        self.options = options or LLMOptions()
        self.batch = self.options.requests_per_batch or (4 if device == "cuda" else 1)
        try:
            self._generator = ctranslate2.Generator(
                str(folder),
                device=device,
                compute_type=compute_type,
                intra_threads=self.numerics.threads,
                inter_threads=self.numerics.inter_threads,
            )
            self._tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        except Exception as exc:  # CTranslate2 raises plain RuntimeError/ValueError
            raise ModelError(
                f"cannot load the translation model {model!r} from {folder}: {exc}",
                "the folder must be a CTranslate2 Generator model with tokenizer.json; "
                "run 'localize models fetch " + DEFAULT_MT_MODEL + "' for the default",
                model=model,
            ) from exc
        self.model_id = f"llm:{model}:{compute_type}"

    @staticmethod
    def plan_numerics(
        threads: int = DEFAULT_COMPUTE_THREADS, device: str = "auto", compute_type: str = "auto"
    ) -> Numerics:
        """int8 on a CPU, int8_float16 on a GPU; ``threads`` fixed by the run, not the core
        count (CTranslate2's own default of 4 also oversubscribes a 2-core machine)."""
        return ct2_numerics(threads, device, compute_type, gpu_type="int8_float16")

    # ------------------------------------------------------------------ generation
    def _user_tokens(self, user: str) -> list[str]:
        return list(
            self._tokenizer.encode(
                f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n",
                add_special_tokens=False,
            ).tokens
        )

    def _line_batches(self, users: list[str]) -> list[list[int]]:
        """Batches formed by the token budget, not by a count: the episode's 18 lines
        went out as 9 + 7 + 2 (the long half split by the budget) and now as 12 + 6."""
        tokens = [self._user_tokens(user) for user in users]
        return token_batches(tokens, self.options.prompt_tokens_per_batch, self.batch)

    def _generate(self, system: str, users: list[str], max_new_tokens: list[int]) -> list[str]:
        """Generate replies to ``users`` under one shared, cached system prompt."""
        static = self._tokenizer.encode(
            f"<|im_start|>system\n{system}<|im_end|>\n", add_special_tokens=False
        ).tokens
        tokens = [self._user_tokens(user) for user in users]
        newline = self._tokenizer.encode("\n", add_special_tokens=False).tokens[0]
        replies = [""] * len(users)
        for part in token_batches(tokens, self.options.prompt_tokens_per_batch):
            results = self._generator.generate_batch(
                pad_to_longest([tokens[i] for i in part], newline),
                static_prompt=static,
                cache_static_prompt=True,
                max_length=max(max_new_tokens[i] for i in part),
                sampling_topk=self.options.sampling_topk,
                repetition_penalty=self.options.repetition_penalty,
                include_prompt_in_result=False,
                # Qwen ends a turn with <|im_end|> but may emit <|endoftext|> instead;
                # without both, generation runs on to max_length producing nothing visible
                end_token=["<|im_end|>", "<|endoftext|>"],
            )
            for i, result in zip(part, results, strict=True):
                replies[i] = self._tokenizer.decode(result.sequences_ids[0])
        return replies


def token_batches(
    prompts: list[list[str]], budget: int, most: int | None = None
) -> list[list[int]]:
    """Indices of ``prompts``, shortest first, in batches of at most ``most`` whose padded
    size (requests x longest prompt) stays within ``budget`` tokens; a longer prompt goes
    alone.

    A batch's prompts are read in one pass, and that pass's size sets the memory peak:
    the budget keeps it under the numbered path's (one long prompt at a time).
    """
    limit = most or len(prompts)
    batches: list[list[int]] = []
    for i in sorted(range(len(prompts)), key=lambda i: len(prompts[i])):
        last = batches[-1] if batches else []
        if last and len(last) < limit and (len(last) + 1) * len(prompts[i]) <= budget:
            last.append(i)
        else:
            batches.append([i])
    return batches


def pad_to_longest(prompts: list[list[str]], filler: str) -> list[list[str]]:
    """``prompts`` made as long as the longest, ``filler`` (a newline) put in front.

    CTranslate2 reads the part every prompt of a batch has (the shortest length) in one
    pass, then feeds the rest of the longer prompts one token per decoding step, with the
    whole batch waiting: on the sample episode the batches spent more steps there than
    decoding. Blank lines between the system turn and the user turn change no reply we
    measured in quality (docs/benchmarks.md) and make the prompts one pass.
    """
    longest = max((len(p) for p in prompts), default=0)
    return [[filler] * (longest - len(p)) + p for p in prompts]
