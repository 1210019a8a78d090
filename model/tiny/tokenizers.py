"""Tokenizers for the tiny twins, trained locally on a few lines of text.

The real checkpoints' tokenizers cannot be downloaded here, so each tiny twin gets a stand-in of
the same family (byte-level BPE like Llama 3, Qwen2 and CLIP), small but real: it is saved and
loaded with ``save_pretrained`` / ``from_pretrained`` like the original.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

# Special tokens of the two text encoders HunyuanVideo uses (Llama 3 chat format and CLIP).
LLAMA_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<pad>",
]
CLIP_SPECIALS = ["<|startoftext|>", "<|endoftext|>"]

_CORPUS = """
Describe the video by detailing the following aspects: 1. The main content and theme of the video.
2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects.
3. Actions, events, behaviors temporal relationships, physical movement changes of the objects.
4. background environment, light, style and atmosphere.
5. camera angles, movements, and transitions used in the video: system user assistant
a cat walks on the grass in the sun, a dog runs along the beach at sunset, waves crash on rocks,
a red car drives through a city street at night with neon lights, slow motion, cinematic, 4k,
a timelapse of clouds over mountains, a drone shot of a forest, an astronaut rides a horse on mars,
close up of a flower blooming, rain falls on a window, a person dances in a studio, high quality
""".strip()


def _train_bpe(specials: list[str], vocab_size: int) -> Tokenizer:
    """A byte-level BPE (GPT-2/Llama-3 style): any Unicode input encodes, nothing maps to UNK."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS.splitlines(), trainer=trainer)
    return tokenizer


def build_llama_tokenizer(vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Stands in for HunyuanVideo's Llama-3 tokenizer: adds ``<|begin_of_text|>`` like it does."""
    from transformers import PreTrainedTokenizerFast

    tok = _train_bpe(LLAMA_SPECIALS, vocab_size)
    bos = "<|begin_of_text|>"
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token="<|end_of_text|>",
        pad_token="<pad>",
        padding_side="right",
        model_max_length=512,
    )


def build_clip_tokenizer(vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Stands in for CLIP's tokenizer: wraps text in start/end tokens, pads with end tokens."""
    from transformers import PreTrainedTokenizerFast

    tok = _train_bpe(CLIP_SPECIALS, vocab_size)
    sot, eot = CLIP_SPECIALS
    tok.post_processor = processors.TemplateProcessing(
        single=f"{sot} $A {eot}",
        pair=f"{sot} $A {eot} $B {eot}",
        special_tokens=[(sot, tok.token_to_id(sot)), (eot, tok.token_to_id(eot))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=sot,
        eos_token=eot,
        pad_token=eot,
        unk_token=eot,
        padding_side="right",
        model_max_length=77,
    )


if TYPE_CHECKING:
    from transformers import Qwen2Tokenizer

# Qwen2.5-VL's chat markers (HunyuanVideo 1.5's text encoder) and its pre-tokenizer regex, which
# splits digits one by one and keeps letters apart from punctuation (unlike GPT-2's).
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# The text part of Qwen2.5-VL-Instruct's chat template: it renders a text-only conversation exactly
# as the original does (the original also places image and video markers, which no caller here uses).
QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_qwen2_tokenizer(vocab_size: int = 512) -> Qwen2Tokenizer:
    """Stands in for Qwen2.5-VL's tokenizer: the real ``Qwen2Tokenizer`` class (byte-level BPE with
    Qwen's pre-tokenizer, no BOS, ``<|im_start|>``/``<|im_end|>`` chat markers and its chat
    template) over a vocabulary trained here."""
    import json

    from tokenizers import Regex
    from transformers import Qwen2Tokenizer

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=QWEN2_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS.splitlines(), trainer=trainer)
    bpe = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in bpe["merges"]]
    endoftext, im_start, im_end = QWEN2_SPECIALS
    tokenizer = Qwen2Tokenizer(
        vocab=bpe["vocab"],
        merges=merges,
        unk_token=None,
        eos_token=im_end,
        pad_token=endoftext,
        model_max_length=2048,
        padding_side="right",
        chat_template=QWEN2_CHAT_TEMPLATE,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": [im_start, im_end]})
    return tokenizer
