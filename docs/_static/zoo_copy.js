// Model-zoo tables: a "copy" button beside each "Use it" line (code.zoo-copy), and each cell labelled
// of table.zoo-stack with its column's header (data-label) for the one-block-per-row layout on narrow screens.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.zoo-stack")) {
    const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => { if (headers[i]) cell.dataset.label = headers[i]; });
    }
  }
  for (const code of document.querySelectorAll("code.zoo-copy")) {
    const button = document.createElement("button");
    button.className = "zoo-copy-button";
    button.type = "button";
    button.textContent = "copy";
    button.title = "copy this line";
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(code.textContent);
        button.textContent = "copied";
      } catch (err) {
        window.getSelection().selectAllChildren(code);  // no clipboard access (http): select it instead
        button.textContent = "selected";
      }
      setTimeout(() => { button.textContent = "copy"; }, 1500);
    });
    code.after(" ", button);  // the space lets the button wrap below a long line
  }
});
