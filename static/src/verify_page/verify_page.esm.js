import {Interaction} from "@web/public/interaction";
import {registry} from "@web/core/registry";
import {_t} from "@web/core/l10n/translation";

/**
 * The verification page's upload form. The form is a plain POST (with its CSRF token) and
 * works without this script; the script only refuses a file over the size limit before
 * sending it, and shows that the check is running. For screen readers: the error is an
 * alert and the file field takes the focus; after a check, the verdict's heading does.
 */
export class DigitalSignVerifyPage extends Interaction {
  static selector = ".o_ds_verify_page";
  dynamicContent = {
    ".o_ds_verify_form": {"t-on-submit": this.onSubmit},
    ".o_ds_verify_file": {"t-on-change": this.onChangeFile},
  };

  setup() {
    this.maxBytes = parseInt(this.el.dataset.maxBytes || "0", 10);
    this.maxMb = this.el.dataset.maxMb || "";
  }

  start() {
    // After a check, the verdict's heading takes the focus: a screen reader starts there.
    const heading = this.el.querySelector(".o_ds_verdict h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({preventScroll: true});
    }
  }

  get error() {
    return this.el.querySelector(".o_ds_verify_error");
  }

  /**
   * @returns {string} why the chosen file cannot be sent, or ""
   */
  problem() {
    const input = this.el.querySelector(".o_ds_verify_file");
    const file = input && input.files && input.files[0];
    if (!file) {
      return _t("Choose the PDF file to check.");
    }
    if (this.maxBytes && file.size > this.maxBytes) {
      return _t("This file is too large: files up to %(limit)s MB can be checked.", {
        limit: this.maxMb,
      });
    }
    return "";
  }

  onChangeFile() {
    if (this.error) {
      this.error.textContent = "";
    }
  }

  onSubmit(ev) {
    const problem = this.problem();
    if (problem) {
      ev.preventDefault();
      if (this.error) {
        this.error.textContent = problem;
      }
      this.el.querySelector(".o_ds_verify_file")?.focus();
      return;
    }
    const button = this.el.querySelector(".o_ds_verify_submit");
    if (button) {
      button.textContent = _t("Checking...");
      // after the submit event: the form is already on its way
      this.waitForTimeout(() => button.setAttribute("disabled", "disabled"), 0);
    }
  }
}

registry
  .category("public.interactions")
  .add("digital_sign.verify_page", DigitalSignVerifyPage);
