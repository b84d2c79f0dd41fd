/**
 * Accessibility checks for the digital_sign tours (tests/test_accessibility.py).
 *
 * - `checkPage(label)`: runs axe-core on the whole page with the WCAG 2.1 A and AA rules
 *   and fails with every violation listed; also fails when the page scrolls sideways (the
 *   200 % zoom check: the test runs the same tours in a 683 px wide window).
 * - `pressKeys(...keys)`: real key presses (Chrome's own input, trusted events), asked of
 *   the Python test through the console: Tab moves the focus, Enter and Space activate, as
 *   for a person at a keyboard. The test also takes a screenshot of each state checked
 *   when DIGITAL_SIGN_A11Y_SHOTS names a folder.
 *
 * axe-core is not part of Odoo: the test serves its file (npm axe-core, installed by
 * ./scripts/test into .run/a11y-node) at AXE_URL, an address outside the test server that
 * only the test's browser answers.
 */

export const AXE_URL = "https://axe-core.digital-sign.invalid/axe.min.js";
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

async function loadAxe() {
  if (window.axe) {
    return window.axe;
  }
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = AXE_URL;
    script.onload = resolve;
    script.onerror = () =>
      reject(
        new Error("axe-core could not be loaded: is it installed (.run/a11y-node)?")
      );
    document.head.appendChild(script);
  });
  return window.axe;
}

/**
 * @param {object} violation an axe-core result
 * @returns {string} the rule, its impact and each failing element, readable in a log
 */
function describe(violation) {
  const nodes = violation.nodes
    .map(
      (node) =>
        `    - ${node.target.join(" ")}: ${(node.failureSummary || "").replace(/\n/g, " ")}`
    )
    .join("\n");
  return `  ${violation.id} (${violation.impact}): ${violation.help}\n${nodes}`;
}

let testRequests = 0;

/**
 * Ask the Python test for something only it can do (DevTools protocol), through the
 * console, and wait until it answers by marking `body[data-ds-ack]` with the request's
 * number.
 *
 * @param {string} kind "keys" or "shot"
 * @param {any} payload
 */
async function askTest(kind, payload) {
  const id = ++testRequests;
  console.log(`digital_sign_test:${id}:${kind}:${JSON.stringify(payload)}`);
  const deadline = Date.now() + 10000;
  while (document.body.dataset.dsAck !== String(id)) {
    if (Date.now() > deadline) {
      throw new Error(`the test did not answer the request ${kind} ${payload}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Check the page as it is now: zero WCAG 2.1 A/AA violations, no sideways scrolling.
 *
 * @param {string} label the page state, for the report
 */
export async function checkPage(label) {
  const axe = await loadAxe();
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: WCAG_TAGS},
    resultTypes: ["violations"],
  });
  const problems = results.violations.map(describe);
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(
      `  the page scrolls sideways: ${root.scrollWidth}px wide in a ${window.innerWidth}px window`
    );
  }
  const where = `${label} (${window.innerWidth}x${window.innerHeight})`;
  if (problems.length) {
    throw new Error(`accessibility of ${where}:\n${problems.join("\n")}`);
  }
  console.log(`digital_sign a11y: ${where}: no violation`);
  // a screenshot of the state, when the test is asked for them (DIGITAL_SIGN_A11Y_SHOTS)
  await askTest("shot", `${label} ${window.innerWidth}x${window.innerHeight}`);
}

/**
 * A tour step that checks the page once `trigger` is there.
 *
 * @param {string} label
 * @param {string} trigger
 */
export function checkStep(label, trigger = "body") {
  return {
    content: `accessibility: ${label}`,
    trigger,
    async run() {
      await checkPage(label);
    },
  };
}

/**
 * Press keys with Chrome's own keyboard input (trusted events, as a person types).
 *
 * @param {...string} keys "Tab", "Shift+Tab", "Enter", "Space", or "type:<text>" to type
 */
export async function pressKeys(...keys) {
  await askTest("keys", keys);
  // let the page react to the keys (handlers, re-render)
  await new Promise((resolve) => setTimeout(resolve, 50));
}

export function describeFocus() {
  const el = document.activeElement;
  if (!el) {
    return "nothing";
  }
  return `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`;
}

/**
 * Press Tab until the focused element matches `selector`.
 *
 * @param {string} selector
 * @param {number} max most Tab presses allowed
 * @returns {Promise<HTMLElement>} the focused element
 */
export async function tabTo(selector, max = 40) {
  for (let presses = 0; presses <= max; presses++) {
    if (document.activeElement?.matches(selector)) {
      return document.activeElement;
    }
    await pressKeys("Tab");
  }
  throw new Error(
    `${selector} was not reached with ${max} Tab presses (focus on ${describeFocus()})`
  );
}
