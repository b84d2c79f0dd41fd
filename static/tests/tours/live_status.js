import {registry} from "@web/core/registry";

// Started from Python on a sent request's form, as its owner; the test has the customer
// sign from another HTTP client meanwhile.
registry.category("web_tour.tours").add("digital_sign_live_status", {
  steps: () => [
    {
      content: "The form shows the document as sent",
      // (the current step's button is disabled: the trigger is the bar around it)
      trigger:
        ".o_form_view .o_statusbar_status:has(button[data-value=sent][aria-checked=true])",
      run() {
        // Gone if the page reloads: the change must come without one.
        window.digitalSignLiveMarker = true;
      },
    },
    {
      content: "The customer signs elsewhere: the state changes in the open form",
      trigger:
        ".o_form_view .o_statusbar_status:has(button[data-value=signed][aria-checked=true])",
      timeout: 30000,
      run() {
        if (!window.digitalSignLiveMarker) {
          throw new Error("the page was reloaded");
        }
      },
    },
    {
      content: "The participants' list shows the signature too",
      trigger:
        ".o_form_view .o_field_widget[name='participant_ids'] .o_data_row:contains(Signed)",
    },
  ],
});
