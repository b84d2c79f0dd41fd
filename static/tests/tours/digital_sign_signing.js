import {registry} from "@web/core/registry";
import {
  signAndSubmitSteps,
  signPlaceSteps,
  submitSteps,
} from "@digital_sign/../tests/tours/tour_utils";

/**
 * Tours of the public signing page. The Python tests (tests/test_signing_tours.py) create the
 * documents, start each tour on a participant's link and check the result in the database.
 */

function signDocumentSteps(pointerType = "mouse") {
  return [
    {
      content: "the first page of the document is shown",
      trigger: ".o_ds_page[data-page='1'] img",
    },
    {
      content: "the guide goes to the first place to fill",
      trigger: ".o_ds_next",
      run: "click",
    },
    {
      trigger: ".o_ds_field.o_ds_current",
    },
    ...signAndSubmitSteps(".o_ds_field_signature", pointerType),
  ];
}

registry.category("web_tour.tours").add("digital_sign_sign", {
  steps: () => signDocumentSteps("mouse"),
});

registry.category("web_tour.tours").add("digital_sign_sign_phone", {
  steps: () => signDocumentSteps("touch"),
});

registry.category("web_tour.tours").add("digital_sign_sign_all_kinds", {
  steps: () => [
    {trigger: ".o_ds_page[data-page='1'] img"},
    {
      content: "submitting without the places is refused by the page",
      trigger: ".o_ds_submit",
      run: "click",
    },
    {trigger: ".o_ds_submit_error:contains(required place)"},
    ...signPlaceSteps(".o_ds_field_signature", "mouse"),
    ...signPlaceSteps(".o_ds_field_initials", "mouse"),
    {
      content: "tick the checkbox place",
      trigger: ".o_ds_field_checkbox input",
      run: "check",
    },
    {
      content: "type in the text place",
      trigger: "input.o_ds_field_text",
      run: "edit Plan B",
    },
    ...submitSteps(),
  ],
});

registry.category("web_tour.tours").add("digital_sign_otp_lockout", {
  steps: () => [
    {content: "the document is hidden behind the code", trigger: ".o_ds_otp h1"},
    {trigger: ".o_ds_otp_send", run: "click"},
    {trigger: ".o_ds_otp_message:contains(A code was sent)"},
    ...[5, 4, 3, 2].flatMap((left) => [
      {trigger: ".o_ds_otp_code", run: "edit 000000"},
      {trigger: ".o_ds_otp_verify:enabled", run: "click"},
      {trigger: `.o_ds_otp_message:contains(${left - 1} tries left)`},
    ]),
    {trigger: ".o_ds_otp_code", run: "edit 000000"},
    {trigger: ".o_ds_otp_verify:enabled", run: "click"},
    {trigger: ".o_ds_otp_message:contains(locked)"},
  ],
});

registry.category("web_tour.tours").add("digital_sign_otp_ok", {
  steps: () => [
    {trigger: ".o_ds_otp h1"},
    {trigger: ".o_ds_otp_send", run: "click"},
    {trigger: ".o_ds_otp_message:contains(A code was sent)"},
    {trigger: ".o_ds_otp_code", run: "edit 123456"},
    {trigger: ".o_ds_otp_verify", run: "click", expectUnloadPage: true},
    ...signDocumentSteps("mouse"),
  ],
});

registry.category("web_tour.tours").add("digital_sign_reject", {
  steps: () => [
    {trigger: ".o_ds_page[data-page='1'] img"},
    {trigger: ".o_ds_reject_open", run: "click"},
    {trigger: ".o_ds_reject_reason", run: "edit The price changed since we spoke."},
    {trigger: ".o_ds_reject", run: "click", expectUnloadPage: true},
    {trigger: ".o_ds_rejected h1:contains(Rejected)"},
  ],
});

registry.category("web_tour.tours").add("digital_sign_expired", {
  steps: () => [
    {trigger: ".o_ds_expired h1:contains(expired)"},
    {trigger: ".o_ds_new_link", run: "click"},
    {trigger: ".o_ds_new_link_message:contains(sender was asked)"},
  ],
});

registry.category("web_tour.tours").add("digital_sign_name_participant", {
  steps: () => [
    {content: "the customer is asked who else signs", trigger: ".o_ds_name h1"},
    {trigger: ".o_ds_person_name", run: "edit Carl Cosigner"},
    {trigger: ".o_ds_person_email", run: "edit carl@example.com"},
    {trigger: ".o_ds_name_submit", run: "click", expectUnloadPage: true},
    {content: "then the document shows", trigger: ".o_ds_page[data-page='1'] img"},
    {
      content: "the new participant is listed, invited",
      trigger: ".o_ds_participants li:contains(Carl Cosigner) .o_ds_pstate_sent",
    },
  ],
});

registry.category("web_tour.tours").add("digital_sign_reengage", {
  steps: () => [
    {trigger: ".o_ds_page[data-page='1'] img"},
    {
      content: "the customer changes the contact they gave",
      trigger: ".o_ds_participants li:contains(Carl) .o_ds_reengage_open",
      run: "click",
    },
    {trigger: ".o_ds_reengage_email", run: "edit carl.new@example.com"},
    {trigger: ".o_ds_reengage", run: "click", expectUnloadPage: true},
    {
      trigger:
        ".o_ds_participants li:contains(Carl) .o_ds_pcontact:contains(c•••w@example.com)",
    },
  ],
});

registry.category("web_tour.tours").add("digital_sign_view", {
  steps: () => [
    {
      content: "the first page of the document is shown",
      trigger: ".o_ds_page[data-page='1'] img",
    },
    {
      content: "the page reported it to the server",
      trigger: ".o_digital_sign[data-viewed-reported]",
    },
  ],
});
