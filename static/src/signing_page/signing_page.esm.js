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
 *
 * Accessibility (WCAG 2.1 AA, tests/test_accessibility.py): each place is named for screen
 * readers by its kind, page and whether it is required (and filled); a refused submit
 * marks the missing places invalid and moves the focus to the first one; a filled place
 * hands the focus on to the next one; an outcome page puts the focus on its heading. A
 * signature place opened from the keyboard offers the typed ("Auto") signature first.
 */
// The steps that show an outcome, whose heading takes the focus.
const OUTCOME_STEPS = ["signed", "rejected", "expired", "waiting", "closed"];

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
    this.labelPlaces();
    this.updateProgress();
    if (this.el.querySelector(".o_ds_finalising")) {
      this.pollFinalDocument();
    }
  }

  start() {
    if (this.el.dataset.step === "sign") {
      this.reportViewedWhenShown();
    }
    this.focusOutcomeHeading();
  }

  /**
   * On an outcome (signed, rejected, expired...), the focus goes to the page's heading:
   * after signing, the page reloads and a screen reader starts with what happened.
   */
  focusOutcomeHeading() {
    if (!OUTCOME_STEPS.includes(this.el.dataset.step)) {
      return;
    }
    const heading = this.el.querySelector(".o_ds_card h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({preventScroll: true});
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

  /**
   * Name each place for screen readers: its kind, its page and whether it is required;
   * the date place says the server fills it.
   */
  labelPlaces() {
    const kinds = {
      signature: _t("Signature"),
      initials: _t("Initials"),
      text: _t("Text"),
      checkbox: _t("Checkbox"),
    };
    for (const el of this.el.querySelectorAll(".o_ds_field[data-field-id]")) {
      const page = el.closest(".o_ds_page")?.dataset.page || "";
      const kind = el.dataset.kind;
      let label = "";
      if (kind === "date") {
        label = _t("Date of signature, page %(page)s, filled in when you sign", {page});
      } else if (el.classList.contains("o_ds_required")) {
        label = _t("%(kind)s, page %(page)s, required", {
          kind: kinds[kind] || kind,
          page,
        });
      } else {
        label = _t("%(kind)s, page %(page)s, optional", {
          kind: kinds[kind] || kind,
          page,
        });
      }
      el.dataset.label = label;
      // The checkbox place is a <label> around its input: the input carries the name.
      const named = kind === "checkbox" ? el.querySelector("input") : el;
      named?.setAttribute("aria-label", label);
      if (kind === "text" && el.classList.contains("o_ds_required")) {
        el.setAttribute("aria-required", "true");
      }
    }
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
      const filled = this.isFilled(el);
      el.classList.toggle("o_ds_filled", filled);
      if (["signature", "initials"].includes(el.dataset.kind) && el.dataset.label) {
        el.setAttribute(
          "aria-label",
          filled ? _t("%(label)s, signed", {label: el.dataset.label}) : el.dataset.label
        );
      }
    }
  }

  /** Mark a place invalid (red, a warning sign, and aria-invalid for screen readers). */
  setInvalid(el, invalid) {
    el.classList.toggle("o_ds_invalid", invalid);
    const input = el.dataset.kind === "checkbox" ? el.querySelector("input") : el;
    if (invalid) {
      input?.setAttribute("aria-invalid", "true");
    } else {
      input?.removeAttribute("aria-invalid");
    }
  }

  /**
   * Move the focus to the next place to fill after `el` (in the document's order), else to
   * the consent, else to the Sign button.
   */
  focusNextPlace(el) {
    const fields = this.fields;
    const after = fields.slice(fields.indexOf(el) + 1);
    const next =
      [...after, ...fields].find((field) => field !== el && !this.isFilled(field)) ||
      this.el.querySelector(".o_ds_consent_input:not(:checked)") ||
      this.el.querySelector(".o_ds_submit");
    this.focusPlace(next);
  }

  /** Resolves once no dialog is on the page any more (and its focus clean-up ran). */
  async dialogsClosed() {
    for (let frame = 0; frame < 120 && document.querySelector(".o_dialog"); frame++) {
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** Scroll `el` into view and give it the focus (a checkbox place: its input). */
  focusPlace(el) {
    if (!el) {
      return;
    }
    el.scrollIntoView({behavior: "smooth", block: "center"});
    const target = el.dataset.kind === "checkbox" ? el.querySelector("input") : el;
    target.focus({preventScroll: true});
  }

  setBusy(button, busy) {
    this.busy = busy;
    if (button) {
      button.disabled = busy;
    }
  }

  /**
   * Run `work` (async) with the page busy and `button` disabled until it ends; a click
   * while the page is busy does nothing.
   *
   * @param {HTMLElement} button the button that asked
   * @param {Function} work what the click does
   */
  async whileBusy(button, work) {
    if (this.busy) {
      return;
    }
    this.setBusy(button, true);
    try {
      await work();
    } finally {
      this.setBusy(button, false);
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
    // A click from the keyboard (Enter, Space: no pointer, detail 0) opens the pad on the
    // typed signature, whose name field has the focus; a pointer opens it on drawing.
    const fromKeyboard = ev.detail === 0;
    let adopted = false;
    this.services.dialog.add(
      SignatureDialog,
      {
        defaultName: this.participantName,
        nameAndSignatureProps: {
          mode: fromKeyboard ? "auto" : "draw",
          signatureType: kind === "initials" ? "initial" : "signature",
          displaySignatureRatio: rect.height
            ? Math.max(rect.width / rect.height, 1)
            : 2,
          noInputName: false,
        },
        uploadSignature: ({signatureImage}) => {
          if (!signatureImage) {
            return;
          }
          this.adoptedSignatures[kind] = signatureImage;
          this.applySignature(el, id, signatureImage);
          adopted = true;
        },
      },
      {
        // once the pad is gone (it gives the focus back to the place): on to the next place
        // (not awaited: the dialog is removed only after onClose returns)
        onClose: () => {
          if (adopted) {
            this.waitFor(this.dialogsClosed()).then(() => this.focusNextPlace(el));
          }
        },
      }
    );
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
    this.setInvalid(el, false);
    this.updateProgress();
  }

  onInputText(ev) {
    this.values[ev.currentTarget.dataset.fieldId] = ev.currentTarget.value;
    this.setInvalid(ev.currentTarget, false);
    this.updateProgress();
  }

  onChangeCheckbox(ev) {
    const label = ev.currentTarget.closest(".o_ds_field");
    this.values[label.dataset.fieldId] = ev.currentTarget.checked;
    this.setInvalid(label, false);
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
    this.focusPlace(next);
  }

  onClickConsentMore(ev) {
    const text = this.el.querySelector(".o_ds_consent_text");
    if (text) {
      const shown = text.classList.toggle("d-none") === false;
      ev.currentTarget.setAttribute("aria-expanded", String(shown));
    }
  }

  // --- submit / reject ---

  async onClickSubmit(ev) {
    if (this.busy || this.submitted) {
      return;
    }
    const consent = this.el.querySelector(".o_ds_consent_input")?.checked;
    this.showError(".o_ds_submit_error", "");
    const missing = this.fields.filter(
      (el) => el.classList.contains("o_ds_required") && !this.isFilled(el)
    );
    for (const el of missing) {
      this.setInvalid(el, true);
    }
    if (missing.length) {
      this.showError(
        ".o_ds_submit_error",
        _t(
          "Please fill every required place: %(count)s still empty, marked with a warning sign. The first one has the focus.",
          {count: missing.length}
        )
      );
      this.focusPlace(missing[0]);
      return;
    }
    if (!consent) {
      this.showError(".o_ds_submit_error", _t("Please accept to sign electronically."));
      this.el.querySelector(".o_ds_consent_input")?.focus();
      return;
    }
    await this.whileBusy(ev.currentTarget, async () => {
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
        const invalid = Object.keys(result.errors || {})
          .map((id) =>
            this.el.querySelector(`.o_ds_field[data-field-id="${CSS.escape(id)}"]`)
          )
          .filter(Boolean);
        for (const el of invalid) {
          this.setInvalid(el, true);
        }
        this.focusPlace(invalid[0]);
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
    });
  }

  onClickRejectOpen(ev) {
    const form = this.el.querySelector(".o_ds_reject_form");
    if (form) {
      const shown = form.classList.toggle("d-none") === false;
      ev.currentTarget.setAttribute("aria-expanded", String(shown));
    }
    this.el.querySelector(".o_ds_reject_reason")?.focus();
  }

  async onClickReject(ev) {
    await this.whileBusy(ev.currentTarget, async () => {
      const reason = this.el.querySelector(".o_ds_reject_reason").value;
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
    });
  }

  // --- one-time code ---

  async onClickOtpSend(ev) {
    await this.whileBusy(ev.currentTarget, async () => {
      const message = this.el.querySelector(".o_ds_otp_message");
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
        sms_off: _t(
          "Codes by text message are switched off for this company. Please contact the sender."
        ),
      };
      message.textContent = texts[result.status] || this.commonMessage(result);
      this.el.querySelector(".o_ds_otp_code")?.focus();
    });
  }

  onKeydownOtp(ev) {
    if (ev.key === "Enter") {
      this.onClickOtpVerify({currentTarget: this.el.querySelector(".o_ds_otp_verify")});
    }
  }

  async onClickOtpVerify(ev) {
    await this.whileBusy(ev.currentTarget, async () => {
      const code = this.el.querySelector(".o_ds_otp_code").value;
      const message = this.el.querySelector(".o_ds_otp_message");
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
    });
  }

  // --- naming missing participants, re-engaging ---

  onChangeInclude(ev) {
    const fieldset = ev.currentTarget.closest(".o_ds_person");
    for (const input of fieldset.querySelectorAll("input.form-control")) {
      input.disabled = !ev.currentTarget.checked;
    }
  }

  async onClickNameSubmit(ev) {
    await this.whileBusy(ev.currentTarget, async () => {
      const people = [...this.el.querySelectorAll(".o_ds_person")].map((fieldset) => ({
        id: parseInt(fieldset.dataset.participantId),
        include: fieldset.querySelector(".o_ds_person_include")?.checked ?? true,
        name: fieldset.querySelector(".o_ds_person_name").value,
        email: fieldset.querySelector(".o_ds_person_email").value,
        mobile: fieldset.querySelector(".o_ds_person_mobile").value,
      }));
      const result = await this.call("name", {participants: people});
      if (result.status === "ok") {
        window.location.reload();
        return;
      }
      this.showError(".o_ds_name_error", this.commonMessage(result));
      let first = null;
      for (const fieldset of this.el.querySelectorAll(".o_ds_person")) {
        const error = (result.errors || {})[fieldset.dataset.participantId] || "";
        fieldset.querySelector(".o_ds_person_error").textContent = error;
        for (const input of fieldset.querySelectorAll("input.form-control")) {
          if (error) {
            input.setAttribute("aria-invalid", "true");
          } else {
            input.removeAttribute("aria-invalid");
          }
        }
        first =
          first || (error && fieldset.querySelector("input.form-control:enabled"));
      }
      first?.focus();
    });
  }

  onClickReengageOpen(ev) {
    const form = ev.currentTarget.closest("li").querySelector(".o_ds_reengage_form");
    const shown = form.classList.toggle("d-none") === false;
    ev.currentTarget.setAttribute("aria-expanded", String(shown));
    if (shown) {
      form.querySelector("input")?.focus();
    }
  }

  async onClickReengage(ev) {
    const button = ev.currentTarget;
    await this.whileBusy(button, async () => {
      const li = button.closest("li");
      const email = li.querySelector(".o_ds_reengage_email").value;
      const mobile = li.querySelector(".o_ds_reengage_mobile").value;
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
    });
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
