"""Tiny random models of every family the real backends load, built from configs and saved to disk.

No model hub is reachable from any machine of this project, so the tests do what transformers'
and diffusers' own test suites do: build each model from a tiny config with random weights, build
its tokenizer from a small vocabulary (or train one on a few lines), `save_pretrained` it into a
folder, and then load that folder through exactly the path a user's downloaded model takes
(`model=<dir>`). The outputs are noise or gibberish; what the folders prove is the plumbing.

Every `build_*` function writes a complete model folder into the directory it is given (created
if needed) and returns that directory, except where noted (build_sd15 returns the pipeline, which
the LoRA and IP-Adapter builders need). Heavy imports stay inside the functions.
"""

from __future__ import annotations

import importlib.util
import io
import json
import string
from pathlib import Path

import pytest

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; two threads on a busy 2-core machine spin and stall.
    (Imported by the test modules that build tiny models, where it applies to every test.)"""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _folder(folder) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------
_CLIP_CHARS = list(string.ascii_lowercase + string.digits + ",.!?'-")


def clip_tokenizer():
    """A CLIP BPE tokenizer over single characters plus a few merges: enough to encode any prompt
    (characters it does not know become <|endoftext|>, which CLIP uses as unknown token too)."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for piece in _CLIP_CHARS + [c + "</w>" for c in _CLIP_CHARS] + ["th", "the</w>", "re", "fo", "fox</w>"]:
        vocab[piece] = len(vocab)
    merges = [("t", "h"), ("th", "e</w>"), ("r", "e"), ("f", "o"), ("fo", "x</w>")]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


# Lines the sentencepiece and BPE tokenizers are trained on: they cover the characters and a few
# of the words the tests' prompts use.
SPM_LINES = ["the red fox ran into the dark forest.", "a small bird sang on the old oak tree!",
             "where is the little blue boat?", "hello world, my name is mira."]
BPE_CORPUS = [
    "a cat sits on a red mat in the sun",
    "the dog runs in the park with a child",
    "Describe this picture. What is in the picture? A small boat on a blue lake.",
    "Once upon a time a girl found a key under the old oak tree.",
]
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>",
           "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"]
# A ChatML template that also renders image parts (as LLaVA's processors expect).
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_sentencepiece(path):
    """A character-level sentencepiece model (what SpeechT5 and SigLIP use) with <s>=0 <pad>=1
    </s>=2 <unk>=3, written to `path`; returns the path."""
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SPM_LINES * 5), model_writer=buffer, vocab_size=40, model_type="char",
        bos_id=0, pad_id=1, eos_id=2, unk_id=3, hard_vocab_limit=False, character_coverage=1.0, minloglevel=2,
    )
    path = Path(path)
    path.write_bytes(buffer.getvalue())
    return path


def bpe_tokenizer():
    """A byte-level BPE tokenizer trained on four lines, with ChatML and image special tokens.

    Build a fresh one per folder: saving a processor stamps its class onto the tokenizer object,
    which would then be written into the next folder's tokenizer_config.json.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(BPE_CORPUS * 4, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = CHAT_TEMPLATE
    return tok


# ---------------------------------------------------------------------------------------------
# diffusers pipelines (illustrator "diffusers")
# ---------------------------------------------------------------------------------------------
def clip_text_config(**extra):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
                          num_attention_heads=4, num_hidden_layers=2, vocab_size=100, **extra)


def vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=[4, 8], in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                         norm_num_groups=2)


def ddim():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                         set_alpha_to_one=False, steps_offset=1)


def build_sd15(folder):
    """A Stable Diffusion 1.5-shaped pipeline (UNet, VAE, CLIP text encoder, DDIM); returns the pipeline."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2,
    )
    pipe = StableDiffusionPipeline(
        unet=unet, vae=vae(), scheduler=ddim(), text_encoder=CLIPTextModel(clip_text_config()),
        tokenizer=clip_tokenizer(), safety_checker=None, feature_extractor=None, image_encoder=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(_folder(folder))
    return pipe


def build_controlnet(unet, folder):
    """A ControlNet shaped like `unet` (SD 1.5 or SDXL), random weights, saved to `folder`."""
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(0)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(4, 8))
    # A fresh ControlNet's output convolutions are zero (training starts from "no effect"); random
    # ones here, so a test can see the layout reach the picture.
    with torch.no_grad():
        for block in [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block,
                      controlnet.controlnet_cond_embedding.conv_out]:
            for parameter in block.parameters():
                parameter.normal_(0, 0.3)
    controlnet.save_pretrained(_folder(folder))
    return controlnet


def build_lora(pipe, folder):
    """A LoRA on the UNet's attention with random (non-zero) B matrices, saved the standard way
    (pytorch_lora_weights.safetensors)."""
    import torch
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(1)
    pipe.unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                     target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    StableDiffusionPipeline.save_lora_weights(_folder(folder), unet_lora_layers=get_peft_model_state_dict(pipe.unet),
                                              safe_serialization=True)
    return Path(folder)


def build_ip_adapter(unet, folder, clip_dim=16):
    """An IP-Adapter for `unet` in the original layout: models/ip-adapter_tiny.safetensors +
    models/image_encoder/."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(2)
    cross = unet.config.cross_attention_dim
    weights = {
        "image_proj.proj.weight": torch.randn(4 * cross, clip_dim), "image_proj.proj.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross), "image_proj.norm.bias": torch.zeros(cross),
    }
    key_id = 1
    for name in unet.attn_processors:  # one pair of projections per cross-attention, numbered 1, 3, 5...
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        weights[f"ip_adapter.{key_id}.to_k_ip.weight"] = torch.randn(hidden, cross)
        weights[f"ip_adapter.{key_id}.to_v_ip.weight"] = torch.randn(hidden, cross)
        key_id += 2
    models = _folder(Path(folder) / "models")
    save_file(weights, str(models / "ip-adapter_tiny.safetensors"))
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, projection_dim=clip_dim, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        image_size=32, patch_size=8,
    ))
    encoder.save_pretrained(models / "image_encoder")
    return Path(folder)


def build_sdxl(folder):
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=80,  # 6 size/crop values x 8 + 32 pooled text
        cross_attention_dim=64, norm_num_groups=1,
    )
    pipe = StableDiffusionXLPipeline(
        unet=unet, vae=vae(), text_encoder=CLIPTextModel(clip_text_config()),
        text_encoder_2=CLIPTextModelWithProjection(clip_text_config(projection_dim=32)),
        tokenizer=clip_tokenizer(), tokenizer_2=clip_tokenizer(),
        scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, steps_offset=1,
                                         beta_schedule="scaled_linear", timestep_spacing="leading"),
        image_encoder=None, feature_extractor=None,
    )
    pipe.save_pretrained(_folder(folder))
    return Path(folder)


def build_pixart(folder):
    """PixArt-alpha: a pipeline family without IP-Adapter support."""
    import torch
    from diffusers import PixArtAlphaPipeline, PixArtTransformer2DModel
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    torch.manual_seed(0)
    transformer = PixArtTransformer2DModel(
        sample_size=8, num_layers=1, patch_size=2, attention_head_dim=8, num_attention_heads=2, caption_channels=32,
        in_channels=4, cross_attention_dim=16, out_channels=8, attention_bias=True, activation_fn="gelu-approximate",
        num_embeds_ada_norm=1000, norm_type="ada_norm_single", norm_elementwise_affine=False, norm_eps=1e-6,
    )
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(c, -3.0) for c in string.ascii_lowercase] + [("▁" + c, -3.5) for c in string.ascii_lowercase]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(pieces), d_model=32, d_kv=8, d_ff=37, num_layers=1,
                                           num_heads=4, decoder_start_token_id=0))
    pipe = PixArtAlphaPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae(),
                               transformer=transformer, scheduler=ddim())
    pipe.save_pretrained(_folder(folder))
    return Path(folder)


def build_musicgen(folder):
    """MusicGen: a tiny T5 text encoder, EnCodec at 8 kHz (125 frames a second, 5 codebooks), one
    decoder layer."""
    import torch
    from transformers import (EncodecConfig, EncodecFeatureExtractor, MusicgenConfig, MusicgenDecoderConfig,
                              MusicgenForConditionalGeneration, MusicgenProcessor, T5Config, T5Tokenizer)

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(c, -3.0) for c in string.ascii_lowercase] + [("▁" + c, -3.5) for c in string.ascii_lowercase]
    text = T5Config(vocab_size=len(pieces), d_model=16, d_kv=4, d_ff=24, num_layers=1, num_heads=2,
                    decoder_start_token_id=0)
    audio = EncodecConfig(target_bandwidths=[2.5], sampling_rate=8000, audio_channels=1, num_filters=4, hidden_size=8,
                          upsampling_ratios=[8, 8], codebook_size=16, codebook_dim=8, num_residual_layers=1,
                          num_lstm_layers=1)
    decoder = MusicgenDecoderConfig(vocab_size=16, max_position_embeddings=512, num_hidden_layers=1, ffn_dim=16,
                                    num_attention_heads=2, hidden_size=16, num_codebooks=audio.num_quantizers,
                                    audio_channels=1, pad_token_id=16, bos_token_id=16)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder))
    model.save_pretrained(_folder(folder))
    MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=8000),
                      tokenizer=T5Tokenizer(vocab=pieces, extra_ids=0)).save_pretrained(folder)
    return Path(folder)


# ---------------------------------------------------------------------------------------------
# Text to speech (narrator "transformers-tts")
# ---------------------------------------------------------------------------------------------
def build_vits(folder, num_speakers=1):
    """A VITS / MMS-TTS-shaped model with a character tokenizer (no phonemizer), 16 kHz."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    folder = _folder(folder)
    vocab = {"<pad>": 0, "<unk>": 1}
    for char in " " + string.ascii_lowercase + ",.!?'-":
        vocab[char] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = VitsTokenizer(str(folder / "vocab.json"), phonemize=False, add_blank=True)
    torch.manual_seed(0)
    model = VitsModel(VitsConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, ffn_dim=16,
        flow_size=16, spectrogram_bins=8, duration_predictor_num_flows=2, duration_predictor_filter_channels=16,
        prior_encoder_num_flows=2, upsample_initial_channel=16, upsample_rates=[8, 2], upsample_kernel_sizes=[16, 4],
        resblock_kernel_sizes=[3, 7], resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]], num_speakers=num_speakers,
        speaker_embedding_size=16 if num_speakers > 1 else 0, sampling_rate=16000,
    ))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_speecht5(folder, vocoder_folder, spm_model):
    """SpeechT5 text-to-speech (processor with the sentencepiece model `spm_model`) in `folder`,
    and its HiFi-GAN vocoder in `vocoder_folder`."""
    import torch
    from transformers import (SpeechT5Config, SpeechT5FeatureExtractor, SpeechT5ForTextToSpeech, SpeechT5HifiGan,
                              SpeechT5HifiGanConfig, SpeechT5Processor, SpeechT5Tokenizer)

    tokenizer = SpeechT5Tokenizer(str(spm_model))
    torch.manual_seed(0)
    model = SpeechT5ForTextToSpeech(SpeechT5Config(
        vocab_size=len(tokenizer) + 2, hidden_size=24, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=8, decoder_ffn_dim=8, num_mel_bins=20, reduction_factor=2,
        speech_decoder_postnet_layers=2, speech_decoder_postnet_units=16, speech_decoder_prenet_units=16,
        speaker_embedding_dim=512,
    ))
    model.save_pretrained(_folder(folder))
    SpeechT5Processor(tokenizer=tokenizer, feature_extractor=SpeechT5FeatureExtractor()).save_pretrained(folder)
    SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=20, upsample_initial_channel=16, upsample_rates=[4, 4], upsample_kernel_sizes=[8, 8],
        resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]], sampling_rate=16000,
    )).save_pretrained(_folder(vocoder_folder))
    return Path(folder)


# ---------------------------------------------------------------------------------------------
# Image-text embeddings (image_embedder "clip")
# ---------------------------------------------------------------------------------------------
def build_clip(folder):
    """CLIP with both towers (projection_dim 24) and its processor (30x30 crops)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4,
                         num_hidden_layers=2, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                           image_size=30, patch_size=6),
        projection_dim=24,
    )).save_pretrained(_folder(folder))
    image_processor = CLIPImageProcessor(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30})
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return Path(folder)


def build_siglip(folder, spm_model):
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor, SiglipTokenizer

    tokenizer = SiglipTokenizer(str(spm_model))
    torch.manual_seed(0)
    SiglipModel(SiglipConfig(
        text_config=dict(vocab_size=len(tokenizer) + 4, hidden_size=32, intermediate_size=37, num_attention_heads=4,
                         num_hidden_layers=2, max_position_embeddings=16, bos_token_id=0, eos_token_id=2,
                         pad_token_id=2),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                           image_size=30, patch_size=6),
    )).save_pretrained(_folder(folder))
    SiglipProcessor(image_processor=SiglipImageProcessor(size={"height": 30, "width": 30}),
                    tokenizer=tokenizer).save_pretrained(folder)
    return Path(folder)


# ---------------------------------------------------------------------------------------------
# Chat LLM, captioners and VQA models (transformers)
# ---------------------------------------------------------------------------------------------
def llama_text_config(tok, **extra):
    return dict(model_type="llama", vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None, **extra)


def vision_tower():
    return dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                image_size=30, patch_size=10)


def build_llama_chat(folder):
    """A Llama-style causal LM (context 256) with a ChatML chat template (llm "transformers")."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = bpe_tokenizer()
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**llama_text_config(tok))).save_pretrained(_folder(folder))
    tok.save_pretrained(folder)
    return Path(folder)


def build_blip2(folder):
    """BLIP-2 with an OPT language model and 30x30 images (captioner "blip2")."""
    import torch
    from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, BlipImageProcessor

    tok = bpe_tokenizer()
    config = Blip2Config(
        vision_config=vision_tower(),
        qformer_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                            encoder_hidden_size=32, vocab_size=len(tok)),
        text_config=dict(model_type="opt", vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, ffn_dim=37,
                         num_attention_heads=4, word_embed_proj_dim=32, max_position_embeddings=128,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=tok.pad_token_id),
        num_query_tokens=4, image_token_index=tok.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(0)
    Blip2ForConditionalGeneration(config).save_pretrained(_folder(folder))
    Blip2Processor(image_processor=BlipImageProcessor(size={"height": 30, "width": 30}), tokenizer=tok,
                   num_query_tokens=4).save_pretrained(folder)
    return Path(folder)


def build_blip(folder):
    """BLIP captioning with a word-level BERT tokenizer (captioner "blip")."""
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    words = ("[PAD] [UNK] [CLS] [SEP] [MASK] [DEC] a an the of photo picture cat dog red blue child sits on mat "
             "park runs in this watercolour . , ?").split()
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(words)})
    tok.add_special_tokens({"bos_token": "[DEC]"})
    config = BlipConfig(
        vision_config=vision_tower(),
        text_config=dict(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=37, encoder_hidden_size=32, max_position_embeddings=64,
                         bos_token_id=tok.convert_tokens_to_ids("[DEC]"), pad_token_id=tok.pad_token_id,
                         sep_token_id=tok.sep_token_id, eos_token_id=tok.sep_token_id),
        projection_dim=32, image_text_hidden_size=32,
    )
    torch.manual_seed(0)
    BlipForConditionalGeneration(config).save_pretrained(_folder(folder))
    BlipProcessor(image_processor=BlipImageProcessor(size={"height": 30, "width": 30}), tokenizer=tok).save_pretrained(folder)
    return Path(folder)


def build_llava(folder, *, next_: bool = False):
    """LLaVA 1.5 (or LLaVA-NeXT with next_=True) on the tiny Llama, with a chat template (vqa "llava")."""
    import torch
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tok = bpe_tokenizer()
    vision = dict(model_type="clip_vision_model", projection_dim=32, **vision_tower())
    common = dict(vision_config=vision, text_config=llama_text_config(tok),
                  image_token_index=tok.convert_tokens_to_ids("<image>"),
                  vision_feature_select_strategy="default", vision_feature_layer=-1)
    folder = _folder(folder)
    torch.manual_seed(0)
    if next_:
        from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor
        from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

        pinpoints = [[30, 30], [30, 60], [60, 30]]
        LlavaNextForConditionalGeneration(LlavaNextConfig(image_grid_pinpoints=pinpoints, **common)).save_pretrained(folder)
        image_processor = LlavaNextImageProcessorPil(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30},
                                                     image_grid_pinpoints=pinpoints)
        processor_cls = LlavaNextProcessor
    else:
        LlavaForConditionalGeneration(LlavaConfig(**common)).save_pretrained(folder)
        image_processor = CLIPImageProcessor(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30})
        processor_cls = LlavaProcessor
    processor_cls(image_processor=image_processor, tokenizer=tok, patch_size=10, vision_feature_select_strategy="default",
                  num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    return folder


def build_qwen2_vl(folder):
    """Qwen2-VL (vqa "qwen2-vl"). Without torchvision the full processor cannot be built, so the
    folder then holds the image processor and the tokenizer, the two parts the backend uses."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = bpe_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL}
    text = llama_text_config(tok, rope_parameters={"rope_type": "default", "mrope_section": [1, 1, 2],
                                                   "rope_theta": 10000.0})
    text.pop("model_type")
    config = Qwen2VLConfig(
        text_config=text,
        vision_config=dict(depth=2, embed_dim=32, hidden_size=32, num_heads=4, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, in_channels=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    folder = _folder(folder)
    torch.manual_seed(0)
    Qwen2VLForConditionalGeneration(config).save_pretrained(folder)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112, patch_size=14, merge_size=2,
                                               temporal_patch_size=2)
    if HAS_TORCHVISION:  # the full processor (with its video half) can only be built with torchvision
        from transformers import Qwen2VLProcessor

        Qwen2VLProcessor(image_processor=image_processor, tokenizer=tok, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    else:
        image_processor.save_pretrained(folder)
        tok.save_pretrained(folder)
    return folder
