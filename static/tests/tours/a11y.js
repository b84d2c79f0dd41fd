import {
  checkPage,
  checkStep,
  pressKeys,
  tabTo,
} from "@digital_sign/../tests/tours/a11y_utils";
import {registry} from "@web/core/registry";

/**
 * Accessibility tours (tests/test_accessibility.py): axe-core on every public page state,
 * and signing with the keyboard alone. The Python test runs each one in a desktop, a phone
 * and a 200 % zoom window.
 */

function pageLabel() {
  const step = document.querySelector("[data-step]")?.dataset.step;
  if (step) {
    const participant = location.pathname.split("/")[3];
    return `signing page, step ${step}, participant ${participant}`;
  }
  return `${document.title} ${location.pathname}`;
}

registry.category("web_tour.tours").add("digital_sign_a11y_page", {
  steps: () => [
    {
      content: "the page and its interactions are ready",
      trigger: "body[is-ready=true]",
      async run() {
        await checkPage(pageLabel());
      },
    },
  ],
});

registry.category("web_tour.tours").add("digital_sign_a11y_otp", {
  steps: () => [
    checkStep("code page", ".o_ds_otp h1"),
    {trigger: ".o_ds_otp_send", run: "click"},
    // "A code was sent", or "wait" in the next window size
    checkStep("code page, code asked for", ".o_ds_otp_message:not(:empty)"),
    {trigger: ".o_ds_otp_code", run: "edit 000000"},
    {trigger: ".o_ds_otp_verify:enabled", run: "click"},
    {trigger: ".o_ds_otp_message:contains(tries left)"},
    checkStep("code page, wrong code", ".o_ds_otp_message:contains(tries left)"),
  ],
});

registry.category("web_tour.tours").add("digital_sign_a11y_name", {
  steps: () => [
    checkStep("naming participants", ".o_ds_name h1"),
    {trigger: ".o_ds_name_submit", run: "click"},
    {trigger: ".o_ds_person_error:not(:empty)"},
    checkStep("naming participants, errors", ".o_ds_person_error:not(:empty)"),
  ],
});

registry.category("web_tour.tours").add("digital_sign_a11y_sign", {
  steps: () => [
    checkStep("document to sign", ".o_ds_page[data-page='1'] img"),
    {
      content: "sign without the places: the page says what is missing",
      trigger: ".o_ds_submit",
      run: "click",
    },
    checkStep("document to sign, places missing", ".o_ds_submit_error:not(:empty)"),
    {trigger: ".o_ds_consent_more", run: "click"},
    checkStep("document to sign, consent text", ".o_ds_consent_text:not(.d-none)"),
    {trigger: ".o_ds_field_signature", run: "click"},
    checkStep("signature pad (draw)", ".modal .o_web_sign_signature"),
    {trigger: ".modal .o_web_sign_auto_button", run: "click"},
    checkStep("signature pad (typed)", ".modal .o_web_sign_auto_button.active"),
    {trigger: ".modal .modal-footer .btn-secondary", run: "click"},
    {trigger: "body:not(:has(.modal))"},
    {trigger: ".o_ds_reject_open", run: "click"},
    checkStep("document to sign, reject form", ".o_ds_reject_form:not(.d-none)"),
  ],
});

registry.category("web_tour.tours").add("digital_sign_a11y_verify", {
  url: "/digital_sign/verify",
  steps: () => [
    checkStep("verification form", ".o_ds_verify_form"),
    {
      content: "without a file, the page says so",
      trigger: ".o_ds_verify_submit",
      run() {
        document.querySelector(".o_ds_verify_file").removeAttribute("required");
        document.querySelector(".o_ds_verify_submit").click();
      },
    },
    checkStep("verification form, no file", ".o_ds_verify_error:not(:empty)"),
    ...["verify_tour_sealed", "verify_tour_modified", "verify_tour_random"].flatMap(
      (xmlid) => [
        {
          content: `choose ${xmlid}`,
          trigger: ".o_ds_verify_file",
          async run() {
            const response = await fetch(`/web/content/digital_sign.${xmlid}`);
            const file = new File([await response.blob()], `${xmlid}.pdf`, {
              type: "application/pdf",
            });
            const transfer = new DataTransfer();
            transfer.items.add(file);
            this.anchor.files = transfer.files;
            this.anchor.dispatchEvent(new Event("change", {bubbles: true}));
          },
        },
        {trigger: ".o_ds_verify_submit", run: "click", expectUnloadPage: true},
        checkStep(`verdict on ${xmlid}`, ".o_ds_verdict[data-outcome] h1"),
      ]
    ),
  ],
});

/**
 * Sign with the keyboard alone: no click, only Tab, Enter, Space and typing, as real key
 * presses. Each place, once reached, says what it is; filling one moves the focus to the
 * next; the signature is typed in the pad's "Auto" mode.
 */
function expectLabel(el, ...words) {
  const label = el.getAttribute("aria-label") || "";
  for (const word of words) {
    if (!label.includes(word)) {
      throw new Error(`the place's label "${label}" does not say "${word}"`);
    }
  }
}

registry.category("web_tour.tours").add("digital_sign_keyboard", {
  steps: () => [
    {trigger: "body[is-ready=true] .o_ds_page[data-page='1'] img"},
    {
      content: "Sign before filling: the error is announced and the focus goes to it",
      trigger: ".o_ds_submit",
      async run() {
        await tabTo(".o_ds_submit");
        await pressKeys("Enter");
        const error = document.querySelector(".o_ds_submit_error");
        if (!error.textContent || !error.closest("[role=alert], [aria-live]")) {
          throw new Error("the error is not announced");
        }
        const focused = document.activeElement;
        if (!focused.matches(".o_ds_field.o_ds_required.o_ds_invalid")) {
          throw new Error("the focus did not move to the first missing place");
        }
        if (focused.getAttribute("aria-invalid") !== "true") {
          throw new Error("the missing place is not marked invalid for screen readers");
        }
      },
    },
    {
      content: "the signature place: Enter opens the pad in typed mode",
      trigger: ".o_ds_field_signature",
      async run() {
        const place = document.activeElement;
        if (!place.matches(".o_ds_field_signature")) {
          throw new Error("the first missing place is not the signature");
        }
        expectLabel(place, "Signature", "page 1", "required");
        await pressKeys("Enter");
      },
    },
    {
      content: "the name is typed as the signature",
      trigger: ".modal .o_web_sign_auto_button.active",
      async run() {
        if (!document.activeElement.matches(".o_web_sign_name_input")) {
          throw new Error("the pad's name field does not have the focus");
        }
        document.activeElement.select();
        await pressKeys("type:Ingrid Keyboard");
      },
    },
    {
      content: "adopt it with the keyboard",
      trigger: ".modal .modal-footer .btn-primary:enabled",
      async run() {
        await tabTo(".modal .modal-footer .btn-primary");
        await pressKeys("Enter");
      },
    },
    {
      content: "the place shows the signature, the focus went on to the next place",
      trigger: "body:not(:has(.modal)) .o_ds_field_signature.o_ds_filled img",
      async run() {
        const place = document.activeElement;
        if (!place.matches("input.o_ds_field_text")) {
          throw new Error(`the focus is on ${place.className}, not on the next place`);
        }
        expectLabel(place, "Text", "page 1", "required");
        await pressKeys("type:Plan B");
      },
    },
    {
      content: "the checkbox place, ticked with Space",
      trigger: "input.o_ds_field_text",
      async run() {
        const box = await tabTo(".o_ds_field_checkbox input");
        expectLabel(box, "Checkbox", "page 1");
        await pressKeys("Space");
        if (!box.checked) {
          throw new Error("Space did not tick the checkbox place");
        }
      },
    },
    {
      content: "consent with Space, sign with Enter",
      trigger: ".o_ds_field_checkbox.o_ds_filled",
      async run() {
        const consent = await tabTo(".o_ds_consent_input");
        await pressKeys("Space");
        if (!consent.checked) {
          throw new Error("Space did not tick the consent");
        }
        await tabTo(".o_ds_submit");
        await pressKeys("Enter");
      },
      expectUnloadPage: true,
    },
    {
      content: "the confirmation heading has the focus",
      trigger: ".o_ds_done h1:contains(Signed):focus",
    },
  ],
});
