import {registry} from "@web/core/registry";

const SAMPLE_PDF = "/digital_sign/static/tests/samples/template_tour.pdf";

/** Put the sample PDF in the form's file input, as choosing it in the file dialog does. */
async function uploadSamplePdf() {
  const response = await fetch(SAMPLE_PDF);
  const file = new File([await response.blob()], "template_tour.pdf", {
    type: "application/pdf",
  });
  const input = document.querySelector(
    ".o_field_widget[name='pdf'] input[type='file']"
  );
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", {bubbles: true}));
}

// Started from Python on the templates list, as a manager: creates a template (upload, a
// role, a place drawn in the place editor), then sends it from the contacts list to one
// contact (Actions > Send for signature) and lands on the bulk send's progress.
registry.category("web_tour.tours").add("digital_sign_template_send", {
  steps: () => [
    {
      content: "New template",
      trigger: ".o_list_button_add",
      run: "click",
    },
    {
      trigger: ".o_form_view .o_field_widget[name='name'] input",
      run: "edit Tour agreement",
    },
    {
      content: "Upload its PDF",
      trigger: ".o_field_widget[name='pdf'] input[type='file']:not(:visible)",
      run: uploadSamplePdf,
    },
    {
      content: "The file is there",
      trigger: ".o_field_widget[name='pdf'] .o_clear_file_button",
    },
    {
      content: "Add a role",
      trigger: ".o_field_widget[name='role_ids'] .o_field_x2many_list_row_add a",
      run: "click",
    },
    {
      trigger:
        ".o_field_widget[name='role_ids'] .o_selected_row .o_field_widget[name='name'] input",
      run: "edit Witness",
    },
    {
      content: "The sender signs as the witness",
      trigger:
        ".o_field_widget[name='role_ids'] .o_selected_row .o_field_widget[name='fill_from'] .o_select_menu_toggler",
      run: "click",
    },
    {
      trigger: ".o_select_menu_menu .o_select_menu_item:contains(The sender)",
      run: "click",
    },
    {
      content: "Save the template",
      trigger: ".o_form_button_save",
      run: "click",
    },
    {
      content: "Saved: the Customer role came from the PDF's marker",
      trigger: ".o_field_widget[name='role_ids'] .o_data_row:contains(Customer)",
    },
    {
      content: "Open the place editor",
      trigger:
        ".o_form_view .o_statusbar_buttons button[name='action_open_places_editor']",
      run: "click",
    },
    {
      content: "The pages are shown with the detected place",
      trigger: ".o_ds_pe_page[data-page='3'] .o_ds_pe_place.o_ds_pe_kind_signature",
    },
    {
      content: "Add a signature place",
      trigger: ".o_ds_pe_add button[data-kind='signature']",
      run: "click",
    },
    {
      content: "on page 1",
      trigger: ".o_ds_pe_page.o_ds_pe_adding[data-page='1']",
      run: "click",
    },
    {
      content: "for the witness",
      trigger: ".o_ds_pe_props select.o_ds_pe_participant",
      run: "selectByLabel Witness",
    },
    {
      content: "Save the places",
      trigger: ".o_ds_pe_save:enabled",
      run: "click",
    },
    {
      trigger: ".o_ds_pe_save:disabled",
    },
    {
      trigger:
        ".o_ds_pe_page[data-page='1']:not(:has(.o_ds_pe_new)) .o_ds_pe_kind_signature",
    },
    {
      content: "Go to the contacts list",
      trigger: ".o_ds_pe_open_document",
      run() {
        window.location.href = "/odoo/action-base.action_partner_form?view_type=list";
      },
      expectUnloadPage: true,
    },
    {
      content: "Select the customer",
      trigger: ".o_data_row:contains(Ingrid Customer) .o_list_record_selector input",
      run: "click",
    },
    {
      content: "Actions",
      trigger: ".o_control_panel .o_cp_action_menus button.dropdown-toggle",
      run: "click",
    },
    {
      content: "Send for signature",
      trigger: ".o-dropdown--menu .dropdown-item:contains(Send for signature)",
      run: "click",
    },
    {
      content: "Choose the template",
      trigger: ".modal .o_field_widget[name='template_id'] input",
      run: "edit Tour agreement",
    },
    {
      trigger: ".o-autocomplete--dropdown-item:contains(Tour agreement)",
      run: "click",
    },
    {
      content: "Send",
      trigger: ".modal button[name='action_start']",
      run: "click",
    },
    {
      content: "The bulk send's progress is shown",
      trigger: ".o_form_view .o_field_widget[name='progress'] .o_progressbar",
    },
    {
      trigger: ".o_form_view .o_data_row:contains(Ingrid Customer)",
    },
  ],
});
