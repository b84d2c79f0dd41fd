import {registry} from "@web/core/registry";
import {signAndSubmitSteps} from "@digital_sign/../tests/tours/tour_utils";

/**
 * Sign now, in person. Started from Python (tests/test_sign_now.py) on a sent document's
 * form, as its owner: the sender clicks Sign now, reads the hand-over page and continues
 * (logged out); the customer signs on their own page in the fresh session.
 */
registry.category("web_tour.tours").add("digital_sign_sign_now", {
  steps: () => [
    {
      content: "The sender clicks Sign now on the document",
      trigger: ".o_form_view .o_form_statusbar button[name='action_sign_now']",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "The hand-over page says what happens next",
      trigger: ".o_ds_hosted h1:contains(Hand this device to)",
    },
    {
      content:
        "The sender hands the device over: logged out, the customer's page opens",
      trigger: ".o_ds_hosted_start",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "The customer's page says who hosts the signing",
      trigger: ".o_ds_in_person:contains(In person, hosted by)",
    },
    {
      content: "the first page of the document is shown",
      trigger: ".o_ds_page[data-page='1'] img",
    },
    ...signAndSubmitSteps(".o_ds_field_signature", "touch"),
  ],
});
