"""What a job is doing right now (the video object's ``phase``), and what each phase took
(its ``timings``).

A job goes ``queued`` -> ``loading`` (the worker gets its model: instant on a warm worker) ->
``encoding_prompt`` -> ``denoising`` (``num_inference_steps`` transformer steps) -> ``decoding``
(the VAE) -> ``encoding`` (MP4, thumbnail, spritesheet) -> ``uploading``, then ends. The three in
the middle are the model's own stages (``model.generation.Stage``, same names); the worker reports
the rest.
"""

from __future__ import annotations

import enum

from model.stages import Stage


class Phase(enum.StrEnum):
    QUEUED = "queued"
    LOADING = "loading"
    ENCODING_PROMPT = Stage.ENCODING_PROMPT.value
    DENOISING = Stage.DENOISING.value
    DECODING = Stage.DECODING.value
    ENCODING = "encoding"
    UPLOADING = "uploading"

    @classmethod
    def of_stage(cls, stage: Stage) -> Phase:
        return cls(stage.value)


# The phases a worker runs a job through, in order: each has a ``<phase>_seconds`` timing.
WORKER_PHASES = (
    Phase.LOADING,
    Phase.ENCODING_PROMPT,
    Phase.DENOISING,
    Phase.DECODING,
    Phase.ENCODING,
    Phase.UPLOADING,
)
