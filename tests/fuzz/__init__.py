"""坏输入的模糊测试（hypothesis，规模有界：整组约 20 秒；FUZZ_SCALE=N 时例子数乘以 N，见 support.py）。

模糊测试找到而尚未修好的 500 用 strict xfail 测试钉住（原因里写明出错的文件与修法），修好后它会 XPASS 而失败，
届时删去 xfail 标记即可；随机提交中避开了这种输入，以免掩盖新的问题。
"""
