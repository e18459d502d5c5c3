"""The Python half of test/vl.test.mjs (seed 004, VL-JEPA), in one process.

Makes a small CLIPVisionModelWithProjection folder and a small all-MiniLM-L6-v2-shaped
sentence-transformers folder (random weights, checkpoints.py), a random seed-004 predictor
(vl_jepa.py), exports the three with jepa_export (what `jepa-native export` runs) into
OUT/vl/{vision,predictor,text}, writes test images and a seed-004 caption CSV, and computes with
the Python libraries the pipeline the Node side must reproduce:
- tokens: transformers' AutoTokenizer on the folder, `padding=True, truncation=True,
  max_length=<the model's max_seq_length>` (what SentenceTransformer.tokenize calls);
- text embeddings: BertModel, mean pooling over the attention mask, L2 normalisation (the
  all-MiniLM-L6-v2 recipe);
- image embeddings: CLIPImageProcessor (the default, fast class) at the model's size, then
  CLIPVisionModelWithProjection's image_embeds divided by their L2 norm (seed 004's VisionEncoder);
- zero-shot scores: torch.cosine_similarity of the predictor's output with the label embeddings;
- training: seed 004's loop (VisionTextDataset over the CSV, DataLoader(shuffle=True) with a
  seeded generator, AdamW(lr), loss 1 - cosine_similarity(...).mean()) for a few steps.

    python scripts/models/vl_cases.py OUT   -> writes OUT/ref.json, prints its path
"""
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

from torchvision_cpu import import_torchvision  # noqa: E402

import_torchvision()  # before transformers: its fast image processors use torchvision's transforms

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import checkpoints  # noqa: E402
from jepa_export.cli import main as export_main  # noqa: E402
from vl_jepa import Predictor  # noqa: E402

TEXTS = ["a dog", "A Photo of TWO cats, playing together!", "Café persons hanging on the cable", "",
         "   sunset   over\tthe ocean  ", "猫 and a dog", "unknownword zzz", "persons walking in the park and " * 6]
LABELS = ["a dog", "two cats playing", "a bridge and cable", "sunset over the ocean"]
CAPTIONS = ["persons hanging bridge and cable", "a dog walking in the park", "two cats, playing together",
            "sunset over the ocean", "a photo of a person"]
SIZES = [(40, 52), (64, 48), (32, 32), (45, 33), (50, 70)]  # (height, width)
# A richer WordPiece vocabulary for the tokenizer alone: punctuation, accents (stripped by BERT's
# normaliser), CJK characters (split one by one), word pieces, unknown words, truncation.
TOK_WORDS = ("the a cafe creme dog cat two photo of , ! . ' - ( ) ? 猫 犬 play walk over ocean new york "
             "un ##s ##ing ##ed ##able ##known 1 2 ##0 $").split()
TOK_TEXTS = ["The Café crème!", "two cats (playing) over the ocean.", "猫犬 walking, walked?", "unknown unplayable",
             "New-York's $120 dogs", "", "ÉCOLE naïve ζ", "a a a a a a a a a a a a a a a a a a a", "  tabs\tand\nnewlines  "]
TOK_MAX = 12
STEPS_SEED, BATCH, EPOCHS, LR = 3, 2, 2, 1e-3


def run_export(argv):
    code = export_main(argv + ["--json"])
    if code != 0:
        raise SystemExit(f"export {argv[0]} failed ({code})")


def rows(t):
    return t.detach().double().tolist()


def main():
    out = sys.argv[1]
    hf, vl, images = (os.path.join(out, d) for d in ("hf", "vl", "images"))
    for d in (hf, vl, images):
        os.makedirs(d, exist_ok=True)
    transformers = checkpoints.import_transformers()
    from PIL import Image

    clip_dir, st_dir = os.path.join(hf, "clip"), os.path.join(hf, "minilm")
    checkpoints.clip_vision(clip_dir, seed=21)
    checkpoints.minilm(st_dir, seed=22)
    torch.manual_seed(23)
    pred = checkpoints.randomize(Predictor(input_dim=16, hidden_dim=24, output_dim=32), 23).eval()
    torch.save(pred.state_dict(), os.path.join(hf, "predictor.pt"))
    init_state = {k: v.clone() for k, v in pred.state_dict().items()}

    run_export(["clip-vision", clip_dir, os.path.join(vl, "vision")])
    run_export(["minilm", st_dir, os.path.join(vl, "text")])
    run_export(["module", "--checkpoint", os.path.join(hf, "predictor.pt"), os.path.join(vl, "predictor"),
                "--class", "vl_jepa:Predictor", "--init-args", json.dumps({"input_dim": 16, "hidden_dim": 24,
                                                                            "output_dim": 32}),
                "--kind", "vl-predictor", "--path", HERE])

    rng = np.random.default_rng(5)
    names = []
    for i, (h, w) in enumerate(SIZES):
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([x * 255 / (w - 1), y * 255 / (h - 1), (x * 3 + y * 5 + 40 * i) % 256], -1)
        px = np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
        name = f"{10002456 + i}.png"
        Image.fromarray(px).save(os.path.join(images, name))
        names.append(name)
    with open(os.path.join(out, "captions.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["image_name", "comment"])
        wr.writerows(zip(names, CAPTIONS))

    # --- the Python pipeline --------------------------------------------------------------
    tok = transformers.AutoTokenizer.from_pretrained(st_dir)
    max_len = tok.model_max_length  # SentenceTransformer's max_seq_length for this folder
    bert = transformers.BertModel.from_pretrained(st_dir).eval()
    clip = transformers.CLIPVisionModelWithProjection.from_pretrained(clip_dir).eval()
    size = clip.config.image_size
    proc = transformers.CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})

    def encode_texts(texts):
        t = tok(list(texts), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        with torch.no_grad():
            h = bert(input_ids=t["input_ids"], attention_mask=t["attention_mask"]).last_hidden_state
        m = t["attention_mask"].unsqueeze(-1).to(h.dtype)
        e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return t, F.normalize(e, p=2, dim=1)

    def pixels(files):
        imgs = [Image.open(os.path.join(images, n)).convert("RGB") for n in files]
        return proc(imgs, return_tensors="pt")["pixel_values"]

    def encode_images(px):
        with torch.no_grad():
            e = clip(pixel_values=px).image_embeds
        return e / e.norm(p=2, dim=-1, keepdim=True)

    toks, text_emb = encode_texts(TEXTS)
    img_emb = encode_images(pixels(names))
    _, label_emb = encode_texts(LABELS)
    with torch.no_grad():
        predicted = pred(img_emb)
    scores = torch.cosine_similarity(predicted.unsqueeze(1), label_emb.unsqueeze(0), dim=-1)

    # --- seed 004's training loop ---------------------------------------------------------
    class VisionTextDataset(torch.utils.data.Dataset):
        def __init__(self, csv_file):
            with open(csv_file, newline="") as f:
                self.rows = list(csv.DictReader(f))

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, i):
            r = self.rows[i]
            return pixels([r["image_name"]])[0], r["comment"]

    train_pred = Predictor(input_dim=16, hidden_dim=24, output_dim=32)
    train_pred.load_state_dict(init_state)
    train_pred.train()
    loader = torch.utils.data.DataLoader(VisionTextDataset(os.path.join(out, "captions.csv")), batch_size=BATCH,
                                         shuffle=True, generator=torch.Generator().manual_seed(STEPS_SEED))
    opt = torch.optim.AdamW(train_pred.parameters(), lr=LR)
    losses, order = [], []
    for _ in range(EPOCHS):
        for px, caps in loader:
            order.append(list(caps))
            with torch.no_grad():
                v = encode_images(px)
                t = encode_texts(caps)[1]
            p = train_pred(v)
            loss = 1 - torch.cosine_similarity(p, t, dim=-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())

    # --- a tokenizer alone --------------------------------------------------------------------
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + TOK_WORDS)}
    wp = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                      special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok_dir = os.path.join(out, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    transformers.PreTrainedTokenizerFast(tokenizer_object=wp, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                         sep_token="[SEP]", mask_token="[MASK]").save_pretrained(tok_dir)
    tok2 = transformers.AutoTokenizer.from_pretrained(tok_dir)
    t2 = tok2(TOK_TEXTS, padding=True, truncation=True, max_length=TOK_MAX)

    ref = {
        "tokenizer": {"file": os.path.join(tok_dir, "tokenizer.json"), "texts": TOK_TEXTS, "maxLength": TOK_MAX,
                      "inputIds": t2["input_ids"], "attentionMask": t2["attention_mask"],
                      "tokens": [tok2.convert_ids_to_tokens(r) for r in t2["input_ids"]]},
        "texts": TEXTS, "labels": LABELS, "images": names, "maxLength": max_len,
        "inputIds": toks["input_ids"].tolist(), "attentionMask": toks["attention_mask"].tolist(),
        "textEmbeddings": rows(text_emb), "imageEmbeddings": rows(img_emb), "labelEmbeddings": rows(label_emb),
        "predicted": rows(predicted), "scores": rows(scores),
        "train": {"seed": STEPS_SEED, "batchSize": BATCH, "epochs": EPOCHS, "lr": LR, "losses": losses,
                  "captions": order, "weights": {k: rows(v) for k, v in train_pred.state_dict().items()}},
    }
    with open(os.path.join(out, "ref.json"), "w") as f:
        json.dump(ref, f)
    print(os.path.join(out, "ref.json"))


if __name__ == "__main__":
    main()
