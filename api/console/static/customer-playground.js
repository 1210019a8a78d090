// #/playground: a generation form that adapts to the chosen model (its sizes, steps and defaults
// from GET /v1/models; an image input only for models that animate one), sent as POST /v1/videos.

import { api } from "./api.js";
import { field, h, replace, select, words } from "./dom.js";

// Where each of the API's `param` names is in the form, to point at the field it refused.
const FIELD_OF_PARAM = {
  prompt: "prompt",
  model: "model",
  size: "size",
  seconds: "seconds",
  seed: "seed",
  num_inference_steps: "num_inference_steps",
  negative_prompt: "negative_prompt",
  input_reference: "input_reference",
  input_fit: "input_fit",
};

function defaultModel(models) {
  return (models.find((model) => model.capabilities.includes("text_to_video")) || models[0]).id;
}

/** The clip lengths the model makes at its default frame rate ("at most 8 s at 8 fps"). */
function secondsHint(model) {
  const fps = Number(model.defaults.fps) || model.fps.min;
  const most = Math.floor(((model.max_frames - 1) / fps) * 100) / 100;
  return `At most ${most} s at ${fps} fps (${model.max_frames} frames). Default ${model.defaults.seconds} s.`;
}

export const playgroundPage = {
  title: "Playground",
  async render({ main, signal, navigate, showError }) {
    const { data: models } = await api("GET", "/v1/models", { signal });
    if (!models.length) {
      replace(main, h("h1", { tabindex: "-1", text: "Playground" }), h("p", { class: "empty", text: "This server serves no model." }));
      return;
    }
    const byId = new Map(models.map((model) => [model.id, model]));

    const prompt = h("textarea", { name: "prompt", required: true, rows: 4, placeholder: "A corgi surfing a wave at sunset" });
    const model = select("model", models.map((m) => m.id), defaultModel(models));
    const size = h("select", { name: "size" });
    const seconds = h("input", { type: "number", name: "seconds", min: "0.1", step: "any", inputmode: "decimal" });
    const steps = h("input", { type: "number", name: "num_inference_steps", step: "1", inputmode: "numeric" });
    const seed = h("input", { type: "number", name: "seed", min: "0", step: "1", inputmode: "numeric", placeholder: "random" });
    const negative = h("textarea", { name: "negative_prompt", rows: 2, placeholder: "blurry, low quality" });
    const image = h("input", { type: "file", name: "input_reference", accept: "image/png,image/jpeg,image/webp" });
    const fit = select(
      "input_fit",
      [
        ["exact", "Exact size"],
        ["crop", "Crop to fill"],
        ["pad", "Pad to fit"],
      ],
      "crop",
    );
    const modelField = field("Model", model);
    // Under the row, full width: a model's description is longer than a column is wide.
    const modelHint = h("small", { class: "hint model-hint", id: `${model.id}-hint` });
    model.setAttribute("aria-describedby", modelHint.id);
    const secondsField = field("Seconds", seconds, " ");
    const stepsField = field("Steps", steps, " ");
    const imageFields = h(
      "div",
      { class: "image-fields" },
      field("Image", image, "PNG, JPEG or WebP: the first frame to animate."),
      field("Image fit", fit, "Exact: the image must already be the video's size."),
    );
    const error = h("div", { class: "page-error", id: "playground-error" });
    const submit = h("button", { type: "submit", class: "primary", text: "Generate" });

    const controls = { prompt, model, size, seconds, seed, num_inference_steps: steps, negative_prompt: negative, input_reference: image, input_fit: fit };

    /** Fit the form to the chosen model: its sizes, steps range, defaults, and the image input. */
    const adapt = () => {
      const chosen = byId.get(model.value);
      modelHint.textContent = `${chosen.description} Can do: ${chosen.capabilities.map(words).join(", ")}.`;
      const previousSize = size.value;
      replace(
        size,
        chosen.sizes.map((value) => h("option", { value, text: value.replace("x", " × ") })),
      );
      size.value = chosen.sizes.includes(previousSize) ? previousSize : String(chosen.defaults.size);
      seconds.value = String(chosen.defaults.seconds);
      secondsField.querySelector(".hint").textContent = secondsHint(chosen);
      steps.min = String(chosen.num_inference_steps.min);
      steps.max = String(chosen.num_inference_steps.max);
      steps.value = String(chosen.defaults.num_inference_steps);
      stepsField.querySelector(".hint").textContent =
        `${chosen.num_inference_steps.min} to ${chosen.num_inference_steps.max}: more is slower and finer.`;
      const takesImage = chosen.capabilities.includes("image_to_video");
      imageFields.hidden = !takesImage;
      image.disabled = !takesImage; // a hidden control must not be sent, nor block the form
      image.required = takesImage && !chosen.capabilities.includes("text_to_video");
      fit.disabled = !takesImage;
    };
    model.addEventListener("change", adapt);

    const clearInvalid = () => {
      for (const control of Object.values(controls)) control.removeAttribute("aria-invalid");
    };

    const form = h(
      "form",
      { class: "card playground", "aria-labelledby": "playground-title" },
      field("Prompt", prompt, "What the video should show."),
      h("div", { class: "row model-row" }, modelField, field("Size", size)),
      modelHint,
      h("div", { class: "row" }, secondsField, stepsField, field("Seed", seed, "Optional: the same seed and parameters give the same video.")),
      field("Negative prompt", negative, "Optional: what to steer away from."),
      imageFields,
      error,
      h("div", { class: "actions" }, submit),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearInvalid();
      replace(error);
      // Sent as multipart/form-data, as the openai SDK sends a create with a file: every value
      // goes as the text typed (a seed past 2^53 stays exact), the image as the file part.
      const body = new FormData();
      body.set("prompt", prompt.value);
      body.set("model", model.value);
      body.set("size", size.value);
      if (seconds.value) body.set("seconds", seconds.value);
      if (steps.value) body.set("num_inference_steps", steps.value);
      if (seed.value.trim()) body.set("seed", seed.value.trim());
      if (negative.value.trim()) body.set("negative_prompt", negative.value);
      if (!image.disabled && image.files.length) {
        body.set("input_reference", image.files[0]);
        body.set("input_fit", fit.value);
      }
      submit.disabled = true;
      submit.textContent = "Submitting…";
      try {
        const video = await api("POST", "/v1/videos", { form: body, signal });
        navigate(`#/videos/${encodeURIComponent(video.id)}`);
      } catch (failure) {
        showError(failure, error);
        const control = controls[FIELD_OF_PARAM[failure.param]];
        if (control) {
          control.setAttribute("aria-invalid", "true");
          control.setAttribute("aria-errormessage", error.id);
        }
      } finally {
        submit.disabled = false;
        submit.textContent = "Generate";
      }
    });

    adapt();
    replace(
      main,
      h("h1", { id: "playground-title", tabindex: "-1", text: "Playground" }),
      h("p", { class: "muted" }, "Describe a clip and generate it; you will follow its progress live on its page."),
      form,
    );
  },
};
