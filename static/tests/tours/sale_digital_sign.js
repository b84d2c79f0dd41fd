import {registry} from "@web/core/registry";
import {signAndSubmitSteps} from "@digital_sign/../tests/tours/tour_utils";

// Started from Python on the quotation's form view, as its salesperson.
registry.category("web_tour.tours").add("digital_sign_sale_send", {
  steps: () => [
    {
      content: "Send the quotation for signature",
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_digital_sign_send']",
      run: "click",
    },
    {
      content: "The wizard proposes the customer",
      trigger:
        ".modal .o_field_widget[name='line_ids'] .o_data_row:contains(Ingrid Customer)",
    },
    {
      content: "The document kind is a quote, and can be changed",
      trigger:
        ".modal .o_field_widget[name='document_kind'] input.o_select_menu_toggler:value(Quote)",
    },
    {
      content: "Send",
      trigger: ".modal .modal-footer button[name='action_send']",
      run: "click",
    },
    {
      content: "The salesperson is told it was sent",
      trigger: ".o_notification:contains(was sent for signature)",
    },
    {
      content: "The order shows its digital status",
      trigger:
        "body:not(:has(.modal)) .o_form_view .o_field_widget[name='digital_sign_state']:contains(Sent)",
    },
    {
      content: "The order shows the link that was sent",
      trigger:
        ".o_form_view .o_field_widget[name='digital_sign_url']:contains(/digital_sign/s/)",
    },
  ],
});

// Started from Python on the customer's signing link, without a session.
registry.category("web_tour.tours").add("digital_sign_sale_sign", {
  steps: () => [
    {
      content: "Wait for the page's interactions",
      trigger: "body[is-ready=true]",
    },
    ...signAndSubmitSteps(".o_digital_sign .o_ds_field_signature.o_ds_required"),
  ],
});
