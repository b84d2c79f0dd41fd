import {registry} from "@web/core/registry";
import {signPlaceSteps} from "@digital_sign/../tests/tours/tour_utils";

/**
 * The public pages in the reader's language (tests/test_page_lang.py): the page's own
 * messages, written by its script, come in the page's language; the language switcher
 * changes it.
 */

function switchLanguageSteps(code, tag) {
  return [
    {
      content: "choose another language in the switcher",
      trigger: "form.o_ds_lang select.o_ds_lang_select",
      run: `select ${code}`,
    },
    {
      trigger: "form.o_ds_lang .o_ds_lang_apply",
      run: "click",
      expectUnloadPage: true,
    },
    {
      content: "the page comes back in that language, the switcher showing it",
      trigger: `html[lang='${tag}'] .o_ds_lang_select:has(option[value='${code}'][selected])`,
    },
  ];
}

registry.category("web_tour.tours").add("digital_sign_page_in_chinese", {
  steps: () => [
    {trigger: "html[lang='zh-CN'] .o_ds_page[data-page='1'] img"},
    {
      content: "the progress, written by the script, is in Chinese",
      trigger: ".o_ds_progress:contains(已填写 0 / 1 个必填位置)",
    },
    {trigger: ".o_ds_submit", run: "click"},
    {trigger: ".o_ds_submit_error:contains(请填写所有必填位置)"},
    ...signPlaceSteps(".o_ds_field_signature", "mouse"),
    {trigger: ".o_ds_progress:contains(已填写 1 / 1 个必填位置)"},
    {trigger: ".o_ds_submit", run: "click"},
    {trigger: ".o_ds_submit_error:contains(请同意以电子方式签署。)"},
    {trigger: ".o_ds_consent_input", run: "check"},
    {trigger: ".o_ds_submit:enabled", run: "click", expectUnloadPage: true},
    {trigger: "html[lang='zh-CN'] .o_ds_done h1:contains(已签署)"},
    ...switchLanguageSteps("sv_SE", "sv-SE"),
    {trigger: ".o_ds_done h1:contains(Signerad)"},
  ],
});

registry.category("web_tour.tours").add("digital_sign_verify_in_chinese", {
  steps: () => [
    {trigger: "html[lang='zh-CN'] .o_ds_verify h1:contains(验证已签署的文件)"},
    {
      content: "without a file, the script says so in Chinese",
      trigger: ".o_ds_verify_submit",
      run() {
        document.querySelector(".o_ds_verify_file").removeAttribute("required");
        document.querySelector(".o_ds_verify_submit").click();
      },
    },
    {trigger: ".o_ds_verify_error:contains(请选择要检查的 PDF 文件。)"},
    ...switchLanguageSteps("fr_FR", "fr-FR"),
    {trigger: ".o_ds_verify h1:contains(Vérifier un document signé)"},
  ],
});
