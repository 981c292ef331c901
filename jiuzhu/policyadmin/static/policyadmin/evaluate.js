// 政策评估 page: the 打印 button (no inline script: the CSP allows scripts from this site only).
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}

// The table of cited parameters is folded on screen (it is most of the page) and printed in full.
window.addEventListener("beforeprint", () => {
  for (const d of document.querySelectorAll("details")) d.open = true;
});
