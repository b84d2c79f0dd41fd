import {Interaction} from "@web/public/interaction";
import {registry} from "@web/core/registry";
import {rpc} from "@web/core/network/rpc";
import {_t} from "@web/core/l10n/translation";
import {SignatureDialog} from "@web/core/signature/signature_dialog";

/**
 * The public signing page. The server renders the document (page images) and the
 * participant's places; this interaction fills them, guides from one place to the next and
 * talks to the JSON-RPC routes of the page. Every call carries the CSRF token; the server
 * decides what is required and answers with a status.
 *
 * Opening the link changes nothing on the server (mail systems' link scanners open links):
 * once the first page of the document is shown, this script reports it (`viewed`).
 */
export class DigitalSignPage extends Interaction {
  static selector = ".o_digital_sign";
  dynamicContent = {
    ".o_ds_field_signature, .o_ds_field_initials": {
      "t-on-click.prevent": this.onClickSignField,
    },
    ".o_ds_field_text": {"t-on-input": this.onInputText},
    ".o_ds_field_checkbox input": {"t-on-change": this.onChangeCheckbox},
    ".o_ds_next": {"t-on-click.prevent": this.onClickNext},
    ".o_ds_submit": {"t-on-click.prevent": this.onClickSubmit},
    ".o_ds_consent_more": {"t-on-click.prevent": this.onClickConsentMore},
    ".o_ds_reject_open": {"t-on-click.prevent": this.onClickRejectOpen},
    ".o_ds_reject": {"t-on-click.prevent": this.onClickReject},
    ".o_ds_otp_send": {"t-on-click.prevent": this.onClickOtpSend},
    ".o_ds_otp_verify": {"t-on-click.prevent": this.onClickOtpVerify},
    ".o_ds_otp_code": {"t-on-keydown": this.onKeydownOtp},
    ".o_ds_name_submit": {"t-on-click.prevent": this.onClickNameSubmit},
    ".o_ds_person_include": {"t-on-change": this.onChangeInclude},
    ".o_ds_new_link": {"t-on-click.prevent": this.onClickNewLink},
    ".o_ds_reengage_open": {"t-on-click.prevent": this.onClickReengageOpen},
    ".o_ds_reengage": {"t-on-click.prevent": this.onClickReengage},
  };

  setup() {
    this.basePath = this.el.dataset.basePath;
    this.documentSha256 = this.el.dataset.documentSha256;
    this.participantName = this.el.dataset.participantName || "";
    // The page's language (Odoo code, and its BCP 47 tag on <html lang>) and the
    // participant's time zone: times and numbers read as the rest of the page.
    this.pageLang = this.el.dataset.lang || "";
    this.locale = document.documentElement.lang || undefined;
    this.timeZone = this.el.dataset.tz || undefined;
    this.values = {};
    this.adoptedSignatures = {};
    this.busy = false;
    this.submitted = false;
    this.updateProgress();
    if (this.el.querySelector(".o_ds_finalising")) {
      this.pollFinalDocument();
    }
  }

  start() {
    if (this.el.dataset.step === "sign") {
      this.reportViewedWhenShown();
    }
  }

  /**
   * Tell the server that the participant saw the document, once its first page is
   * painted (a bare GET of the link, as a link scanner makes, never does it).
   */
  reportViewedWhenShown() {
    const image = this.el.querySelector(".o_ds_page img");
    if (!image) {
      return;
    }
    const report = async () => {
      await this.call("viewed");
      this.el.dataset.viewedReported = "1";
    };
    if (image.complete && image.naturalWidth) {
      report();
    } else {
      this.addListener(image, "load", report, {once: true});
    }
  }

  // --- helpers ---

  async call(route, params = {}) {
    return this.waitFor(
      rpc(`${this.basePath}/${route}`, {...params, csrf_token: odoo.csrf_token})
    );
  }

  get fields() {
    return [...this.el.querySelectorAll(".o_ds_field[data-field-id]")].filter(
      (el) => el.dataset.kind !== "date"
    );
  }

  isFilled(el) {
    const id = el.dataset.fieldId;
    const kind = el.dataset.kind;
    if (kind === "checkbox") {
      return !!this.values[id];
    }
    if (kind === "text") {
      return !!(this.values[id] || "").trim();
    }
    return !!this.values[id];
  }

  updateProgress() {
    const required = this.fields.filter((el) => el.classList.contains("o_ds_required"));
    const done = required.filter((el) => this.isFilled(el)).length;
    const progress = this.el.querySelector(".o_ds_progress");
    if (progress) {
      progress.textContent = required.length
        ? _t("%(done)s of %(total)s required places filled", {
            done: this.formatNumber(done),
            total: this.formatNumber(required.length),
          })
        : "";
    }
    for (const el of this.fields) {
      el.classList.toggle("o_ds_filled", this.isFilled(el));
    }
  }

  setBusy(button, busy) {
    this.busy = busy;
    if (button) {
      button.disabled = busy;
    }
  }

  showError(selector, message) {
    const el = this.el.querySelector(selector);
    if (el) {
      el.textContent = message || "";
    }
  }

  notFound() {
    window.location.reload();
  }

  /**
   * The message for the answers every route may give: a refused call (stale page,
   * another link, bad request) or a limit reached. Empty for the route's own answers.
   */
  commonMessage(result) {
    if (result.error === "forbidden") {
      return _t("This page is out of date: reload it and try again.");
    }
    if (result.error === "not_found") {
      return _t("This link does not work.");
    }
    if (result.error) {
      return _t("The request was refused: reload the page and try again.");
    }
    if (result.status === "limited") {
      return _t(
        "This was done too many times today: please try again tomorrow, or contact the sender."
      );
    }
    return "";
  }

  /** A number as the page's language writes it. */
  formatNumber(value) {
    try {
      return new Intl.NumberFormat(this.locale).format(value);
    } catch {
      return String(value);
    }
  }

  /**
   * A time of an answer as the participant reads it: the server's text for it (their
   * language and time zone, the zone named), else the UTC value ("YYYY-MM-DD HH:MM:SS")
   * formatted in the page's language and the participant's time zone.
   */
  localTime(result, key) {
    if (result[`${key}_text`]) {
      return result[`${key}_text`];
    }
    const date = new Date(`${String(result[key] || "").replace(" ", "T")}Z`);
    if (isNaN(date)) {
      return "";
    }
    const options = {dateStyle: "medium", timeStyle: "short"};
    try {
      return date.toLocaleString(this.locale, {...options, timeZone: this.timeZone});
    } catch {
      return date.toLocaleString(this.locale, options);
    }
  }

  // --- places ---

  onClickSignField(ev) {
    const el = ev.currentTarget;
    const kind = el.dataset.kind;
    const id = el.dataset.fieldId;
    const rect = el.getBoundingClientRect();
    const reuse = this.adoptedSignatures[kind];
    this.services.dialog.add(SignatureDialog, {
      defaultName: this.participantName,
      nameAndSignatureProps: {
        mode: "draw",
        signatureType: kind === "initials" ? "initial" : "signature",
        displaySignatureRatio: rect.height ? Math.max(rect.width / rect.height, 1) : 2,
        noInputName: false,
      },
      uploadSignature: ({signatureImage}) => {
        if (!signatureImage) {
          return;
        }
        this.adoptedSignatures[kind] = signatureImage;
        this.applySignature(el, id, signatureImage);
      },
    });
    if (reuse && !this.values[id]) {
      // The same person adopted a signature already: it can be reused at once.
      this.applySignature(el, id, reuse);
    }
  }

  applySignature(el, id, dataUrl) {
    this.values[id] = dataUrl;
    el.replaceChildren();
    const img = document.createElement("img");
    img.src = dataUrl;
    img.alt = _t("Signature");
    el.appendChild(img);
    el.classList.remove("o_ds_invalid");
    this.updateProgress();
  }

  onInputText(ev) {
    this.values[ev.currentTarget.dataset.fieldId] = ev.currentTarget.value;
    ev.currentTarget.classList.remove("o_ds_invalid");
    this.updateProgress();
  }

  onChangeCheckbox(ev) {
    const label = ev.currentTarget.closest(".o_ds_field");
    this.values[label.dataset.fieldId] = ev.currentTarget.checked;
    label.classList.remove("o_ds_invalid");
    this.updateProgress();
  }

  onClickNext() {
    const fields = this.fields;
    const current = this.el.querySelector(".o_ds_current");
    const start = current ? fields.indexOf(current) + 1 : 0;
    const ordered = [...fields.slice(start), ...fields.slice(0, start)];
    const next = ordered.find((el) => !this.isFilled(el)) || ordered[0];
    if (!next) {
      return;
    }
    current?.classList.remove("o_ds_current");
    next.classList.add("o_ds_current");
    next.scrollIntoView({behavior: "smooth", block: "center"});
    next.focus({preventScroll: true});
  }

  onClickConsentMore() {
    this.el.querySelector(".o_ds_consent_text")?.classList.toggle("d-none");
  }

  // --- submit / reject ---

  async onClickSubmit(ev) {
    const button = ev.currentTarget;
    if (this.busy || this.submitted) {
      return;
    }
    const consent = this.el.querySelector(".o_ds_consent_input")?.checked;
    this.showError(".o_ds_submit_error", "");
    const missing = this.fields.filter(
      (el) => el.classList.contains("o_ds_required") && !this.isFilled(el)
    );
    for (const el of missing) {
      el.classList.add("o_ds_invalid");
    }
    if (missing.length) {
      this.showError(".o_ds_submit_error", _t("Please fill every highlighted place."));
      missing[0].scrollIntoView({behavior: "smooth", block: "center"});
      return;
    }
    if (!consent) {
      this.showError(".o_ds_submit_error", _t("Please accept to sign electronically."));
      return;
    }
    this.setBusy(button, true);
    try {
      const result = await this.call("submit", {
        values: this.values,
        consent: true,
        document_sha256: this.documentSha256,
        lang: this.pageLang || null,
      });
      if (result.error === "not_found") {
        return this.notFound();
      }
      if (this.commonMessage(result)) {
        this.showError(".o_ds_submit_error", this.commonMessage(result));
        return;
      }
      if (result.status === "ok" || result.status === "already_signed") {
        this.submitted = true;
        window.location.reload();
        return;
      }
      if (result.status === "invalid") {
        for (const id of Object.keys(result.errors || {})) {
          this.el
            .querySelector(`.o_ds_field[data-field-id="${CSS.escape(id)}"]`)
            ?.classList.add("o_ds_invalid");
        }
        this.showError(
          ".o_ds_submit_error",
          Object.values(result.errors || {}).join(" ") ||
            _t("Please check the document.")
        );
      } else if (result.status === "changed") {
        this.showError(
          ".o_ds_submit_error",
          _t(
            "This document changed after it was sent to you, so it can no longer be signed. The sender was told and will send the new version."
          )
        );
        this.submitted = true;
      } else {
        window.location.reload();
      }
    } finally {
      this.setBusy(button, false);
    }
  }

  onClickRejectOpen() {
    this.el.querySelector(".o_ds_reject_form")?.classList.toggle("d-none");
    this.el.querySelector(".o_ds_reject_reason")?.focus();
  }

  async onClickReject(ev) {
    const button = ev.currentTarget;
    if (this.busy) {
      return;
    }
    const reason = this.el.querySelector(".o_ds_reject_reason").value;
    this.setBusy(button, true);
    try {
      const result = await this.call("reject", {reason});
      if (this.commonMessage(result)) {
        this.showError(".o_ds_submit_error", this.commonMessage(result));
        return;
      }
      if (result.status === "invalid") {
        this.showError(".o_ds_submit_error", Object.values(result.errors).join(" "));
        return;
      }
      window.location.reload();
    } finally {
      this.setBusy(button, false);
    }
  }

  // --- one-time code ---

  async onClickOtpSend(ev) {
    const button = ev.currentTarget;
    if (this.busy) {
      return;
    }
    this.setBusy(button, true);
    const message = this.el.querySelector(".o_ds_otp_message");
    try {
      const result = await this.call("otp/send");
      const texts = {
        ok: _t("A code was sent to %s.", result.to),
        wait: _t(
          "A code was just sent: wait %s seconds before asking again.",
          this.formatNumber(result.seconds)
        ),
        locked: _t(
          "Too many wrong codes: try again after %s.",
          this.localTime(result, "until")
        ),
        limited: _t("Too many codes were asked for: try again later."),
        failed: _t("The code could not be sent. Please contact the sender."),
      };
      message.textContent = texts[result.status] || this.commonMessage(result);
      this.el.querySelector(".o_ds_otp_code")?.focus();
    } finally {
      this.setBusy(button, false);
    }
  }

  onKeydownOtp(ev) {
    if (ev.key === "Enter") {
      this.onClickOtpVerify({currentTarget: this.el.querySelector(".o_ds_otp_verify")});
    }
  }

  async onClickOtpVerify(ev) {
    const button = ev.currentTarget;
    if (this.busy) {
      return;
    }
    const code = this.el.querySelector(".o_ds_otp_code").value;
    const message = this.el.querySelector(".o_ds_otp_message");
    this.setBusy(button, true);
    try {
      const result = await this.call("otp/verify", {code});
      if (result.status === "ok") {
        window.location.reload();
        return;
      }
      const texts = {
        wrong: _t("Wrong code. %s tries left.", this.formatNumber(result.left)),
        expired: _t("This code expired or was replaced: ask for a new one."),
        locked: _t(
          "Too many wrong codes: signing is locked until %s. The sender was told.",
          this.localTime(result, "until")
        ),
      };
      message.textContent =
        texts[result.status] ||
        this.commonMessage(result) ||
        Object.values(result.errors || {}).join(" ");
    } finally {
      this.setBusy(button, false);
    }
  }

  // --- naming missing participants, re-engaging ---

  onChangeInclude(ev) {
    const fieldset = ev.currentTarget.closest(".o_ds_person");
    for (const input of fieldset.querySelectorAll("input.form-control")) {
      input.disabled = !ev.currentTarget.checked;
    }
  }

  async onClickNameSubmit(ev) {
    const button = ev.currentTarget;
    if (this.busy) {
      return;
    }
    const people = [...this.el.querySelectorAll(".o_ds_person")].map((fieldset) => ({
      id: parseInt(fieldset.dataset.participantId),
      include: fieldset.querySelector(".o_ds_person_include")?.checked ?? true,
      name: fieldset.querySelector(".o_ds_person_name").value,
      email: fieldset.querySelector(".o_ds_person_email").value,
      mobile: fieldset.querySelector(".o_ds_person_mobile").value,
    }));
    this.setBusy(button, true);
    try {
      const result = await this.call("name", {participants: people});
      if (result.status === "ok") {
        window.location.reload();
        return;
      }
      this.showError(".o_ds_name_error", this.commonMessage(result));
      for (const fieldset of this.el.querySelectorAll(".o_ds_person")) {
        fieldset.querySelector(".o_ds_person_error").textContent =
          (result.errors || {})[fieldset.dataset.participantId] || "";
      }
    } finally {
      this.setBusy(button, false);
    }
  }

  onClickReengageOpen(ev) {
    ev.currentTarget
      .closest("li")
      .querySelector(".o_ds_reengage_form")
      .classList.toggle("d-none");
  }

  async onClickReengage(ev) {
    const button = ev.currentTarget;
    if (this.busy) {
      return;
    }
    const li = button.closest("li");
    const email = li.querySelector(".o_ds_reengage_email").value;
    const mobile = li.querySelector(".o_ds_reengage_mobile").value;
    this.setBusy(button, true);
    try {
      const result = await this.call("reengage", {
        other_id: parseInt(li.dataset.participantId),
        email: email || null,
        mobile: mobile || null,
      });
      if (result.status === "ok") {
        window.location.reload();
        return;
      }
      li.querySelector(".o_ds_reengage_error").textContent =
        this.commonMessage(result) ||
        Object.values(result.errors || {}).join(" ") ||
        _t("This contact cannot be changed any more.");
    } finally {
      this.setBusy(button, false);
    }
  }

  // --- after the deadline, after signing ---

  async onClickNewLink(ev) {
    const button = ev.currentTarget;
    if (this.busy) {
      return;
    }
    this.setBusy(button, true);
    const result = await this.call("new_link");
    const texts = {
      ok: _t("The sender was asked to send you a new link."),
      already_asked: _t("The sender was already asked today."),
    };
    this.el.querySelector(".o_ds_new_link_message").textContent =
      texts[result.status] || this.commonMessage(result);
  }

  async pollFinalDocument() {
    for (let attempt = 0; attempt < 40 && !this.isDestroyed; attempt++) {
      await this.waitFor(new Promise((resolve) => setTimeout(resolve, 3000)));
      const result = await this.call("status");
      if (result.document_ready) {
        window.location.reload();
        return;
      }
    }
  }
}

registry
  .category("public.interactions")
  .add("digital_sign.signing_page", DigitalSignPage);
