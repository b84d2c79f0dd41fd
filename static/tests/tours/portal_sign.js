import {registry} from "@web/core/registry";
import {signAndSubmitSteps} from "@digital_sign/../tests/tours/tour_utils";

// Started from Python on the portal home (/my), logged in as the customer (a portal user)
// whose quotation is out for digital signature.
registry.category("web_tour.tours").add("digital_sign_portal_sign_quotation", {
  steps: () => [
    {
      content: "The home says there is a document to sign",
      trigger: ".o_digital_sign_home_to_sign:contains(Documents to sign)",
    },
    {
      content: "Open the quotations to review",
      trigger: ".o_portal_index_card a[href='/my/quotes']",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "Open the quotation",
      trigger: ".o_portal_my_doc_table a[href*='/my/orders/']",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "The quotation shows its digital signature status",
      trigger: ".o_digital_sign_order_status:contains(Waiting for your signature)",
    },
    {
      content: "Sign this quotation",
      trigger: "a.o_digital_sign_sign_quotation",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "Wait for the signing page's interactions",
      trigger: "body[is-ready=true]",
    },
    ...signAndSubmitSteps(".o_digital_sign .o_ds_field_signature.o_ds_required"),
    {
      content: "Back to the portal",
      trigger: ".o_ds_portal_link a",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "The document's page says it is signed",
      trigger:
        ".o_digital_sign_portal_document .o_digital_sign_portal_status:contains(Signed)",
    },
    {
      content: "Go to the list of signatures",
      trigger: ".o_portal_submenu a[href='/my/signatures']",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "The list shows the quotation signed",
      trigger:
        ".o_digital_sign_portal_row:contains(Quotation) .o_digital_sign_portal_status:contains(Signed)",
    },
  ],
});
