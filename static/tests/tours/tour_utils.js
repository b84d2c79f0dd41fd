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
