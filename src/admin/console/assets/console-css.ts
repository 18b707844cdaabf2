// The console's one stylesheet, served by the proxy (no CDN): readable at 360 px wide (wide grids scroll inside
// their frame), a focus ring that is always visible, and colours with enough contrast.

export const CONSOLE_CSS = `
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; background: #f6f7f9; }
a { color: #0b57d0; }
:focus-visible { outline: 3px solid #c2410c; outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; }
.skip:focus { left: .5rem; z-index: 10; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1rem; background: #1b1f24; color: #fff; }
header a { color: #dbe7ff; }
header .brand { font-weight: 700; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; list-style: none; }
nav a[aria-current="page"] { color: #fff; font-weight: 700; text-decoration-thickness: 3px; }
.who { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-left: auto; }
.who form { margin: 0; }
main { padding: 1rem; max-width: 90rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.2rem; }
.notice { border-left: 5px solid; padding: .5rem 1rem; margin: 0 0 1rem; background: #fff; }
.notice.ok { border-color: #1a7f37; }
.notice.error { border-color: #b42318; }
.notice.warning { border-color: #b54708; }
.toolbar { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: 1rem; }
.toolbar form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: 0; }
.grid-frame { overflow-x: auto; background: #fff; border: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; padding: .5rem; font-weight: 600; }
th, td { padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; text-align: left; vertical-align: top; }
th { white-space: nowrap; }
td.text { min-width: 10rem; overflow-wrap: anywhere; }
th a { color: inherit; }
.perms { display: flex; flex-wrap: wrap; gap: .25rem .75rem; }
.perms label { white-space: nowrap; }
.duration-part { display: flex; flex-direction: column; }
.duration-part input { width: 6rem; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; }
.actions form { margin: 0; }
.pager { display: flex; gap: 1rem; align-items: center; margin: 1rem 0; }
form.record { background: #fff; border: 1px solid #d0d7de; padding: 1rem; max-width: 40rem; }
.field { margin: 0 0 1rem; border: 0; padding: 0; }
.field label, .field legend { display: block; font-weight: 600; margin-bottom: .25rem; }
.field input[type=text], .field input[type=date], .field input[type=number], .field input[type=password], .field input[type=search] { width: 100%; max-width: 30rem; padding: .4rem; font: inherit; border: 1px solid #57606a; border-radius: 4px; }
.field.invalid input { border-color: #b42318; border-width: 2px; }
.field-error { color: #b42318; margin: .25rem 0 0; font-weight: 600; }
.hint { color: #57606a; margin: 0 0 .25rem; font-size: .9rem; }
.check { display: flex; gap: .4rem; align-items: center; margin: .2rem 0; }
.check label { font-weight: 400; }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: 4px; border: 1px solid #1b1f24; background: #fff; color: #1b1f24; cursor: pointer; text-decoration: none; display: inline-block; }
button.primary, .button.primary { background: #0b57d0; border-color: #0b57d0; color: #fff; }
button.danger { background: #b42318; border-color: #b42318; color: #fff; }
.secret { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.secret input { font-family: ui-monospace, monospace; width: 100%; max-width: 32rem; padding: .4rem; }
.muted { color: #57606a; }
code, .mono { font-family: ui-monospace, monospace; }
details pre { white-space: pre-wrap; max-width: 40rem; }
@media (max-width: 40rem) { main { padding: .5rem; } header { padding: .5rem; } .who { margin-left: 0; } }
`;
