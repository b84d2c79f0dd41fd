import {registry} from "@web/core/registry";

/**
 * The verification page, as a visitor uses it: upload the sealed PDF (valid), a modified
 * copy (not valid, with the reason), a copy signed afterwards by a colleague holding a
 * certificate from the same CA (not valid: what changed is listed), a PDF sealed with that
 * colleague's certificate (not our seal) and a PDF this database never sealed (unknown).
 * The files are public attachments made by the Python test (tests/test_verify.py), named by
 * their XML ids.
 */
async function chooseFile(xmlid) {
  const response = await fetch(`/web/content/digital_sign.${xmlid}`);
  if (!response.ok) {
    throw new Error(`cannot load ${xmlid}: ${response.status}`);
  }
  const blob = await response.blob();
  const file = new File([blob], `${xmlid}.pdf`, {type: "application/pdf"});
  const transfer = new DataTransfer();
  transfer.items.add(file);
  const input = document.querySelector(".o_ds_verify_file");
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", {bubbles: true}));
}

function uploadSteps(xmlid) {
  return [
    {
      content: `Choose ${xmlid}`,
      trigger: ".o_ds_verify_form .o_ds_verify_file",
      async run() {
        await chooseFile(xmlid);
      },
    },
    {
      content: "Verify it",
      trigger: ".o_ds_verify_submit",
      run: "click",
      expectUnloadPage: true,
    },
  ];
}

registry.category("web_tour.tours").add("digital_sign_verify", {
  url: "/digital_sign/verify",
  steps: () => [
    {
      content: "Without a file, the page asks for one",
      trigger: ".o_ds_verify_submit",
      run() {
        // the browser's own "required" check would stop a real visitor; the
        // page's script says it too
        document.querySelector(".o_ds_verify_file").removeAttribute("required");
        document.querySelector(".o_ds_verify_submit").click();
      },
    },
    {
      trigger: ".o_ds_verify_error:contains('Choose the PDF file')",
    },
    ...uploadSteps("verify_tour_sealed"),
    {
      content: "The sealed document is valid",
      trigger: ".o_ds_verdict[data-outcome='valid'] h1:contains('Valid')",
    },
    {
      trigger: ".o_ds_verdict .o_ds_document_facts:contains('Ingrid Customer')",
    },
    {
      trigger: ".o_ds_verdict .o_ds_seal_facts a.o_ds_certificate_download",
    },
    ...uploadSteps("verify_tour_modified"),
    {
      content: "The modified copy is not valid, and the page says why",
      trigger:
        ".o_ds_verdict[data-outcome='modified'] h1:contains('changed after sealing')",
    },
    {
      trigger: ".o_ds_verdict .o_ds_reason:contains('after it was sealed')",
    },
    ...uploadSteps("verify_tour_countersigned"),
    {
      content: "A signature added after the seal, even from the same CA, is a change",
      trigger:
        ".o_ds_verdict[data-outcome='modified'] h1:contains('changed after sealing')",
    },
    {
      trigger:
        ".o_ds_verdict .o_ds_changes li:contains('Another signature was added, by Colleague')",
    },
    ...uploadSteps("verify_tour_forged"),
    {
      content: "A seal made with another certificate of the same CA is not ours",
      trigger: ".o_ds_verdict[data-outcome='not_our_seal'] h1:contains('not our seal')",
    },
    ...uploadSteps("verify_tour_random"),
    {
      content: "A PDF this database never sealed is unknown",
      trigger: ".o_ds_verdict[data-outcome='unknown'] h1:contains('Unknown document')",
    },
    {
      trigger: ".o_ds_verdict .o_ds_reason:contains('carries no seal')",
    },
  ],
});
