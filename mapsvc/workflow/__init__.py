"""The closed loop (闭环): filing, dispatch, handling, checking and closing within time limits."""
