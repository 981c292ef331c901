// 政策评估 page: the 打印 button (no inline script: the CSP allows scripts from this site only).
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
