"""Try the model in a browser: python demo.py  (then open the printed URL).

Needs `pip install gradio`; predictions come from predict.py in this folder.
"""

import json
from pathlib import Path

import gradio as gr
from predict import load

HERE = Path(__file__).resolve().parent
META = json.loads((HERE / "p2m_model.json").read_text())
model = load(HERE)


def predict(text: str) -> str:
    """One prediction for the text box."""
    return model.predict([text])[0] if text.strip() else ""


demo = gr.Interface(fn=predict, inputs=gr.Textbox(label="Input", lines=3),
                    outputs=gr.Textbox(label="Prediction"),
                    title=META.get("name", HERE.name), description=META.get("instruction", ""),
                    examples=META.get("examples") or None)

if __name__ == "__main__":
    demo.launch(server_name="127.0.0.1")
