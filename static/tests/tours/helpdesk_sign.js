import {registry} from "@web/core/registry";
import {signAndSubmitSteps} from "@digital_sign/../tests/tours/tour_utils";

// Started from Python on the ticket's form view, as its agent. The ticket holds the PDF
// (arrow_contract.pdf, with an arrow marking the customer's signature place).
registry.category("web_tour.tours").add("digital_sign_helpdesk_send", {
  steps: () => [
    {
      content: "Request a signature from the ticket",
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_digital_sign_send']",
      run: "click",
    },
    {
      content: "The wizard proposes the ticket's customer",
      trigger:
        ".modal .o_field_widget[name='line_ids'] .o_data_row:contains(Petra Portal)",
    },
    {
      content: "Choose the ticket's PDF",
      trigger: ".modal .o_field_widget[name='attachment_id'] input",
      run: "edit arrow_contract",
    },
    {
      content: "Pick it",
      trigger: ".o-autocomplete--dropdown-item .dropdown-item:contains(arrow_contract)",
      run: "click",
    },
    {
      content: "The arrow was found: one signature place",
      trigger: ".modal .o_field_widget[name='marker_summary']:contains(Page 1: 1 ×)",
    },
    {
      content: "Send it during the conversation",
      trigger:
        ".modal .o_field_widget[name='sending_mode'] input[data-value='conversation']",
      run: "click",
    },
    {
      content: "Send",
      trigger: ".modal .modal-footer button[name='action_send']",
      run: "click",
    },
    {
      content: "The ticket's composer opens with the signing link",
      trigger:
        ".modal .o_mail_composer_form .o_field_widget[name='body'] a[href*='/digital_sign/s/']",
    },
    {
      content: "The customer is the recipient",
      trigger:
        ".modal .o_mail_composer_form .o_field_widget[name='partner_ids']:contains(Petra Portal)",
    },
    {
      content: "Send the reply",
      trigger:
        ".modal .modal-footer button.o_mail_send[name='action_send_mail']:enabled",
      run: "click",
    },
    {
      content: "The reply with the link is in the ticket's conversation",
      trigger:
        ".o-mail-Chatter .o-mail-Message:contains(Please read and sign) a[href*='/digital_sign/s/']",
    },
    {
      content: "The ticket shows that it waits for the signature",
      trigger:
        ".o_form_view:not(:has(.modal)) .o_field_widget[name='digital_sign_state']:contains(Sent)",
    },
  ],
});

// Started from Python on the ticket's portal page, as the customer (portal user).
registry.category("web_tour.tours").add("digital_sign_helpdesk_portal_sign", {
  steps: () => [
    {
      content: "The ticket lists the document to sign",
      trigger:
        "#digital_sign_documents .o_digital_sign_to_sign:contains(Contract for the ticket)",
    },
    {
      content: "Open the signing link",
      trigger: "#digital_sign_documents a.o_digital_sign_sign_link",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "Wait for the page's interactions",
      trigger: "body[is-ready=true]",
    },
    ...signAndSubmitSteps(".o_digital_sign .o_ds_field_signature.o_ds_required"),
  ],
});
