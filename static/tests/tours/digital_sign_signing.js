import { registry } from "@web/core/registry";
import { drawSignature } from "@digital_sign/../tests/tours/tour_utils";

/**
 * Tours of the public signing page. The Python tests (tests/test_signing_tours.py) create the
 * documents, start each tour on a participant's link and check the result in the database.
 */

function signPlaceSteps(selector, pointerType) {
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
        ...signPlaceSteps(".o_ds_field_signature", pointerType),
        {
            content: "consent to sign electronically",
            trigger: ".o_ds_consent_input",
            run: "check",
        },
        {
            content: "sign",
            trigger: ".o_ds_submit",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "the page now says it is signed",
            trigger: ".o_ds_done h1:contains(Signed)",
        },
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
        { trigger: ".o_ds_page[data-page='1'] img" },
        {
            content: "submitting without the places is refused by the page",
            trigger: ".o_ds_submit",
            run: "click",
        },
        { trigger: ".o_ds_submit_error:contains(highlighted)" },
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
        { trigger: ".o_ds_consent_input", run: "check" },
        { trigger: ".o_ds_submit", run: "click", expectUnloadPage: true },
        { trigger: ".o_ds_done h1:contains(Signed)" },
    ],
});

registry.category("web_tour.tours").add("digital_sign_otp_lockout", {
    steps: () => [
        { content: "the document is hidden behind the code", trigger: ".o_ds_otp h1" },
        { trigger: ".o_ds_otp_send", run: "click" },
        { trigger: ".o_ds_otp_message:contains(A code was sent)" },
        ...[5, 4, 3, 2].flatMap((left) => [
            { trigger: ".o_ds_otp_code", run: "edit 000000" },
            { trigger: ".o_ds_otp_verify:enabled", run: "click" },
            { trigger: `.o_ds_otp_message:contains(${left - 1} tries left)` },
        ]),
        { trigger: ".o_ds_otp_code", run: "edit 000000" },
        { trigger: ".o_ds_otp_verify:enabled", run: "click" },
        { trigger: ".o_ds_otp_message:contains(locked)" },
    ],
});

registry.category("web_tour.tours").add("digital_sign_otp_ok", {
    steps: () => [
        { trigger: ".o_ds_otp h1" },
        { trigger: ".o_ds_otp_send", run: "click" },
        { trigger: ".o_ds_otp_message:contains(A code was sent)" },
        { trigger: ".o_ds_otp_code", run: "edit 123456" },
        { trigger: ".o_ds_otp_verify", run: "click", expectUnloadPage: true },
        ...signDocumentSteps("mouse"),
    ],
});

registry.category("web_tour.tours").add("digital_sign_reject", {
    steps: () => [
        { trigger: ".o_ds_page[data-page='1'] img" },
        { trigger: ".o_ds_reject_open", run: "click" },
        { trigger: ".o_ds_reject_reason", run: "edit The price changed since we spoke." },
        { trigger: ".o_ds_reject", run: "click", expectUnloadPage: true },
        { trigger: ".o_ds_rejected h1:contains(Rejected)" },
    ],
});

registry.category("web_tour.tours").add("digital_sign_expired", {
    steps: () => [
        { trigger: ".o_ds_expired h1:contains(expired)" },
        { trigger: ".o_ds_new_link", run: "click" },
        { trigger: ".o_ds_new_link_message:contains(sender was asked)" },
    ],
});

registry.category("web_tour.tours").add("digital_sign_name_participant", {
    steps: () => [
        { content: "the customer is asked who else signs", trigger: ".o_ds_name h1" },
        { trigger: ".o_ds_person_name", run: "edit Carl Cosigner" },
        { trigger: ".o_ds_person_email", run: "edit carl@example.com" },
        { trigger: ".o_ds_name_submit", run: "click", expectUnloadPage: true },
        { content: "then the document shows", trigger: ".o_ds_page[data-page='1'] img" },
        {
            content: "the new participant is listed, invited",
            trigger: ".o_ds_participants li:contains(Carl Cosigner) .o_ds_pstate_sent",
        },
    ],
});

registry.category("web_tour.tours").add("digital_sign_reengage", {
    steps: () => [
        { trigger: ".o_ds_page[data-page='1'] img" },
        {
            content: "the customer changes the contact they gave",
            trigger: ".o_ds_participants li:contains(Carl) .o_ds_reengage_open",
            run: "click",
        },
        { trigger: ".o_ds_reengage_email", run: "edit carl.new@example.com" },
        { trigger: ".o_ds_reengage", run: "click", expectUnloadPage: true },
        { trigger: ".o_ds_participants li:contains(Carl) .o_ds_pcontact:contains(c•••w@example.com)" },
    ],
});
