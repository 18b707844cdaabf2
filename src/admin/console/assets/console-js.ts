// The console's one script, served by the proxy and allowed by the Content Security Policy as 'self' (no inline
// script anywhere). Everything works without it; it adds a copy button beside a secret shown once, and moves the
// focus to a form's problem summary so a screen reader announces it.

export const CONSOLE_JS = `
for (const button of document.querySelectorAll('[data-copy]')) {
  button.hidden = false;
  button.addEventListener('click', async () => {
    const field = document.getElementById(button.getAttribute('data-copy'));
    if (!field) return;
    let copied = false;
    try {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    } catch {
      field.select();
      copied = document.execCommand('copy');
    }
    const status = document.getElementById(button.getAttribute('data-status'));
    if (status) status.textContent = copied ? 'Copied.' : 'Select the text and copy it.';
  });
}
document.getElementById('problems')?.focus();
`;
