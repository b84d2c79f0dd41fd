import {registry} from "@web/core/registry";

// Started from Python as a seal keeper, on a document the customer signed: it is the
// company's turn.
registry.category("web_tour.tours").add("digital_sign_company_seal", {
  steps: () => [
    {
      content: "The document says it waits for the company seal",
      trigger: ".o_digital_sign_company_seal_due",
    },
    {
      content: "Apply company seal",
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_open_company_seal']",
      run: "click",
    },
    {
      content: "The document to review is shown",
      trigger: ".modal .o_digital_sign_company_seal_review iframe.o_pdfview_iframe",
    },
    {
      content: "The seal is shown beside it",
      trigger: ".modal .o_field_widget[name='company_seal'] img",
    },
    {
      content: "The places the seal goes on",
      trigger: ".modal .o_field_widget[name='places_summary']:contains(Page 1)",
    },
    {
      content: "I reviewed this document",
      trigger: ".modal .o_digital_sign_reviewed input",
      run: "check",
    },
    {
      content: "Apply the company seal",
      trigger: ".modal button[name='action_apply']",
      run: "click",
    },
    {
      content: "The document is signed",
      trigger:
        "body:not(:has(.modal)) .o_form_view .o_statusbar_status .o_arrow_button_current:contains(Signed)",
    },
    {
      content: "The seal keeper's action is in the audit trail",
      trigger: ".o_notebook a:contains(Audit trail)",
      run: "click",
    },
    {
      content: "Company seal applied, by the keeper",
      trigger:
        ".o_field_widget[name='event_ids'] .o_data_row:contains(Company seal applied)",
    },
  ],
});
