"""浏览器端到端测试（系统 Chromium + Playwright）。"""
