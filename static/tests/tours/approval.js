import {registry} from "@web/core/registry";

// Started from Python on a request waiting for approval, as the sales manager who reviews it.
registry.category("web_tour.tours").add("digital_sign_approval_validate", {
  steps: () => [
    {
      content: "The document says it waits for approval",
      trigger: ".o_digital_sign_approval_pending:contains(Pending validation)",
    },
    {
      content: "The reviews list the rule",
      trigger: ".o_notebook a:contains(Approval)",
      run: "click",
    },
    {
      content: "Approve",
      trigger: ".o_digital_sign_approval_pending button[name='validate_tier']",
      run: "click",
    },
    {
      content: "Give the reason",
      trigger: ".modal .o_field_widget[name='comment'] input",
      run: "edit Margin checked",
    },
    {
      content: "Confirm",
      trigger: ".modal button[name='add_comment']",
      run: "click",
    },
    {
      content: "The document is approved",
      trigger:
        "body:not(:has(.modal)) .o_digital_sign_approval_done:contains(Approved)",
    },
    {
      content: "The decision is in the audit trail",
      trigger: ".o_notebook a:contains(Audit trail)",
      run: "click",
    },
    {
      content: "Approved before sending, with the reason",
      trigger: ".o_field_widget[name='event_ids'] .o_data_row:contains(Margin checked)",
    },
  ],
});

// Then, as the salesperson who owns it: Send is offered and sends.
registry.category("web_tour.tours").add("digital_sign_approval_send", {
  steps: () => [
    {
      content: "The document is approved",
      trigger: ".o_digital_sign_approval_done",
    },
    {
      content: "Send",
      trigger: ".o_form_view .o_statusbar_buttons button[name='action_send']",
      run: "click",
    },
    {
      content: "It is out for signature",
      trigger: ".o_statusbar_status .o_arrow_button_current:contains(Sent)",
    },
  ],
});
