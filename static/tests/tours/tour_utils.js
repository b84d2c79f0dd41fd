/**
 * Helpers shared by the digital_sign tours.
 */

/**
 * Draw a stroke on a SignaturePad canvas with pointer events, as a finger or a mouse does:
 * SignaturePad listens to pointerdown on the canvas, then pointermove and pointerup on the
 * window (the events bubble up to it).
 *
 * @param {HTMLCanvasElement} canvas
 * @param {"mouse"|"touch"} pointerType
 */
export async function drawSignature(canvas, pointerType = "mouse") {
  const rect = canvas.getBoundingClientRect();
  const pause = () => new Promise((resolve) => setTimeout(resolve, 25));
  const pointer = (type, x, y, buttons) =>
    canvas.dispatchEvent(
      new PointerEvent(type, {
        bubbles: true,
        cancelable: true,
        pointerId: 1,
        pointerType,
        isPrimary: true,
        button: 0,
        buttons,
        pressure: buttons ? 0.5 : 0,
        clientX: rect.left + x * rect.width,
        clientY: rect.top + y * rect.height,
      })
    );
  pointer("pointerdown", 0.1, 0.6, 1);
  for (let step = 1; step <= 16; step++) {
    await pause();
    const x = 0.1 + (0.8 * step) / 16;
    pointer("pointermove", x, step % 2 ? 0.3 : 0.7, 1);
  }
  await pause();
  pointer("pointerup", 0.9, 0.5, 0);
}

/**
 * Steps that fill one signature or initials place: open its pad, draw, adopt.
 *
 * @param {string} selector the place
 * @param {"mouse"|"touch"} pointerType
 */
export function signPlaceSteps(selector, pointerType = "mouse") {
  return [
    {
      content: "open the signature pad of a place",
      trigger: `${selector}:not(.o_ds_filled)`,
      run: "click",
    },
    {
      content: "choose to draw",
      trigger: ".modal .o_web_sign_draw_button",
      run: "click",
    },
    {
      content: "draw the signature",
      trigger: ".modal canvas.o_web_sign_signature",
      async run() {
        await drawSignature(this.anchor, pointerType);
      },
    },
    {
      trigger: ".modal canvas.o_web_sign_signature",
      run: "canvasNotEmpty",
    },
    {
      content: "adopt it",
      trigger: ".modal .modal-footer .btn-primary:enabled",
      run: "click",
    },
    {
      content: "the place shows the signature",
      trigger: `${selector}.o_ds_filled img`,
    },
  ];
}

/**
 * Steps that consent and submit once every place is filled, until the page says it is
 * signed.
 */
export function submitSteps() {
  return [
    {
      content: "consent to sign electronically",
      trigger: ".o_ds_consent_input",
      run: "check",
    },
    {
      content: "sign",
      trigger: ".o_ds_submit:enabled",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "the page now says it is signed",
      trigger: ".o_ds_done h1:contains(Signed)",
    },
  ];
}

/**
 * Steps that sign the participant's place, then consent and submit.
 *
 * @param {string} selector the signature place
 * @param {"mouse"|"touch"} pointerType
 */
export function signAndSubmitSteps(selector, pointerType = "mouse") {
  return [...signPlaceSteps(selector, pointerType), ...submitSteps()];
}
