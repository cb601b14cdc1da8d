"""Write ``names.jsonl``: customer-service sentences focused on person names, mostly Chinese.

The held-out test split has few Chinese person names (25), too few to measure how many the anonymizer removes.
This second supplement adds Chinese names in many positions and roles (the customer giving their own name with
and without a cue, recipients, names opening a sentence or inside it, before honorifics and titles, two names in
one sentence, compound surnames, two- and three-character names, names beside phones, addresses and order
numbers, mixed Chinese-English sentences), English-language sentences with names from many cultures and no cue
word, and hard clean Chinese sentences whose words start with a surname character but hold no name (高兴, 金额,
王府井, 张家界, 李宁 the brand...).

Written for this project independently of the anonymizer (``streams/anonymizer/``) and of the traffic simulator
(``simulator/``), neither of which was read or run. The surname and given-name character lists and the English
name lists below were typed for this script; no name list of any detector or package was used. Names are
composed at random (seeded), so every name is made up.

Run from the repository root: ``python bench/data/pii/make_names.py``. Slots, filling, the split and the file are
``make_supplement.py``'s: ``{TYPE:maker}`` is a labelled value of TYPE, ``{=:maker}`` an unlabelled one; half the
sentences go to dev and half to test, by a seeded shuffle.
"""

from __future__ import annotations

import random
from pathlib import Path

from make_supplement import fill, split, write  # a script beside this one: run from the repository root

SEED = 20240717
OUT = Path(__file__).resolve().parent / "names.jsonl"
SOURCE = "bench/data/pii/make_names.py (written for this project)"

# --- names ------------------------------------------------------------------------------------------------------

ZH_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
ZH_COMPOUND = ["欧阳", "司马", "诸葛", "上官", "司徒", "东方", "皇甫", "慕容", "令狐", "夏侯", "尉迟", "公孙"]
ZH_GIVEN = list(dict.fromkeys(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰玉萍红燕鹏辉玲霞飞鑫波斌宇浩凯健俊帆帅旭宁林欣佳琪怡婷雪"
    "慧颖倩琳晶蕾薇璐瑶妍菲悦思雨涵萱梓轩子博文宸睿泽晨铭昊然诚天一嘉哲皓瑞航毅峰东海亮志建国民永春秋冬梅竹菊"
    "荣祥福贵德仁义礼智信忠安康乐和顺利达成功业家庆新立振宏伦彬良松柏山川源清泉洁晓光阳晖耀岚云霄星辰月琴瑜珊"
    "珍珠莉莲荷芸茜蓉芬芝婉婧嫣媛妮姗娴淑惠贤馨韵诗书墨彤彩丹青碧翠瑾瑛璇琦琰玮珂琛瑄骏驰腾翔鸿鹤锋钢锐坤坚垚"
    "森楠桐杉枫榕柳栋彦昕晗昱暄曦朗旻昭晟景聪敬恒慎恺怀宪宗宜容守定宝实富正斯越迪远逸道进运通佑保儒兆先克全"
    "冠凡励勤勋卫友启君吉喜园培增士奇奕威娇婕孟学岩峻崇希广庭延弘彪征心恩意慈承方昌晋晴曼朋望柯根梦楷江沛泓"
    "泰洪洲润淼渊溪滨漫潇澄灿炜烨焕煜熙璋畅登盛真瞻硕科程穆竣童笑筱素紫纯维绍缘群羽翰育胜致舒艺芃芮若茂茹莹"
    "菁萌蓓蔚虹融衡裕言誉诺谦豪贝赫起跃路迎邦锦镇闻阔雄雅雯霖霏露靖韬颂香骁麟鼎"))
ZH_DOUBLE_GIVEN_WEIGHT = 0.65
"""The share of names with a two-character given name (三字名); the rest are two-character names (二字名)."""
ZH_COMPOUND_SHARE = 0.12
NOT_NAMES = {  # compositions that read as ordinary words, place names, brands or famous people: never used
    "高兴", "高明", "高峰", "高超", "高远", "高贵", "高雅", "高山", "高楼", "高新", "高考", "方正", "方圆", "方向",
    "方便", "白云", "白雪", "白天", "金星", "江山", "江河", "黄河", "黄金", "马力", "马达", "石油", "周全", "周到",
    "任意", "任何", "向前", "向阳", "于是", "程序", "田园", "夏天", "万一", "严重", "严明", "龙凤", "武功", "李宁",
    "江南", "金华", "黎明", "石林", "钱庄", "孔明", "安康", "林海", "林立", "金山", "东海", "顾客", "江东", "贺喜",
    "万达", "华为", "宋江", "毛泽东", "钱学森", "马云", "雷锋", "孙悟空", "周大福", "王老吉", "张小泉", "林黛玉",
    "高德", "龙华", "文明", "金刚", "金鑫", "白银", "段誉", "方便面", "程度", "丁香", "向往", "石榴", "杜鹃",
    "白莲", "白玉", "白菊", "金菊", "金桂", "金玉", "石英", "石松", "石竹", "江月", "夏雨", "马兰", "龙珠", "毛竹",
    "万福", "严冬", "金珠", "金秋", "白露", "夏至", "龙门", "黄山", "金星", "江湖", "钱塘", "向荣", "万安",
}

EN_FIRST = ["Olusegun", "Priya", "Maria", "Siobhan", "Tomasz", "Aiko", "Mehmet", "Nkechi", "Rafael", "Ingrid",
            "Dmitri", "Anjali", "Keanu", "Fatou", "Lars", "Yasmin", "Bogdan", "Camila", "Haruto", "Chidi", "Astrid",
            "Mohammed", "Thandiwe", "Giulia", "Sven", "Ximena", "Arjun", "Eleni", "Kofi", "Margot", "Nikolai",
            "Amara", "Jorge", "Saoirse", "Hyun-woo", "Leilani", "Farhan", "Beatriz", "Emeka", "Agnieszka", "Tariq",
            "Zeynep", "Wei", "Minh", "Rohan", "Isabella", "Kwabena", "Oksana", "Mateus", "Ayesha", "Declan",
            "Hana", "Juan Carlos", "Marguerite", "Tevita", "Nadia", "Gustavo", "Mei", "Bartholomew", "Efua"]
EN_LAST = ["Adebayo", "Raman", "Gonzalez", "Ni Bhriain", "Wisniewski", "Yamamoto", "Yilmaz", "Okonkwo", "Silva",
           "Halvorsen", "Volkov", "Deshpande", "Kahale", "Diallo", "Johansson", "Haddad", "Popescu", "Restrepo",
           "Takahashi", "Eze", "Lindgren", "Al-Farsi", "Nkosi", "Bianchi", "Eriksen", "Mendoza", "Venkatesh",
           "Papadopoulos", "Asante", "Lefebvre", "Sokolov", "Mensah", "Herrera", "O'Sullivan", "Park", "Kealoha",
           "Chowdhury", "Carvalho", "Obi", "Kaminska", "Rahimi", "Demir", "Zhang", "Nguyen", "Iyer", "Rossi",
           "Boateng", "Shevchenko", "Oliveira", "Siddiqui", "Gallagher", "Novotna", "de la Cruz", "Fontaine",
           "Taufa", "Petrova", "Araujo", "Lin", "Whitaker", "Quaye", "Chen", "van der Berg", "Schwarzenegger-Holt"]


def zh_given(rng: random.Random) -> str:
    if rng.random() < ZH_DOUBLE_GIVEN_WEIGHT:
        a, b = rng.sample(ZH_GIVEN, 2)
        return a + b
    return rng.choice(ZH_GIVEN)


def zh_surname(rng: random.Random) -> str:
    return rng.choice(ZH_COMPOUND) if rng.random() < ZH_COMPOUND_SHARE else rng.choice(ZH_SURNAMES)


def _unused(make):
    def maker(rng: random.Random) -> str:
        while True:
            name = make(rng)
            if name not in NOT_NAMES and not any(word in name for word in NOT_NAMES if len(word) >= 3):
                return name
    return maker


zh_name = _unused(lambda rng: zh_surname(rng) + zh_given(rng))
zh_compound_name = _unused(lambda rng: rng.choice(ZH_COMPOUND) + zh_given(rng))
zh_name2 = _unused(lambda rng: rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN))  # 二字名: 张伟, 李娜
zh_name3 = _unused(lambda rng: rng.choice(ZH_SURNAMES) + "".join(rng.sample(ZH_GIVEN, 2)))  # 三字名


def zh_single_surname(rng: random.Random) -> str:
    """A surname alone, as in 王先生 / 刘女士 / 陈经理: the span is the surname, not the honorific."""
    return rng.choice(ZH_SURNAMES)


def en_name(rng: random.Random) -> str:
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


# --- other values ------------------------------------------------------------------------------------------------


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def cn_mobile(rng: random.Random) -> str:
    number = rng.choice(["13", "15", "17", "18", "19"]) + digits(rng, 9)
    return rng.choice([number, f"{number[:3]} {number[3:7]} {number[7:]}", f"{number[:3]}-{number[3:7]}-{number[7:]}"])


ZH_PLACES = [("北京市", ["朝阳区", "海淀区", "东城区"]), ("上海市", ["浦东新区", "徐汇区", "静安区"]),
             ("广州市", ["天河区", "越秀区"]), ("深圳市", ["南山区", "福田区"]), ("杭州市", ["西湖区", "滨江区"]),
             ("成都市", ["锦江区", "武侯区"]), ("南京市", ["鼓楼区", "玄武区"]), ("武汉市", ["洪山区", "江汉区"])]
ZH_ROADS = ["人民路", "解放路", "中山路", "建设路", "文化路", "和平路", "青年路", "光明街", "滨河大道", "新华路"]


def zh_address(rng: random.Random) -> str:
    city, districts = rng.choice(ZH_PLACES)
    tail = rng.choice(["", f"{rng.randint(1, 20)}栋{rng.randint(1, 3)}单元{rng.randint(101, 2204)}室",
                       f"{rng.randint(1, 30)}号楼{rng.randint(2, 18)}{rng.randint(1, 4):02d}室"])
    return f"{city}{rng.choice(districts)}{rng.choice(ZH_ROADS)}{rng.randint(1, 899)}号{tail}"


def zh_order_no(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(2023, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{digits(rng, 8)}",
                       digits(rng, 16), f"E{digits(rng, 14)}"])


def tracking(rng: random.Random) -> str:
    return rng.choice([f"SF{digits(rng, 13)}", f"YT{digits(rng, 14)}", f"JD{digits(rng, 13)}", digits(rng, 12)])


def en_order_no(rng: random.Random) -> str:
    return rng.choice([f"#{rng.randint(100000, 9999999)}", f"A{digits(rng, 9)}", f"SO-{digits(rng, 8)}"])


def zh_date(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日", f"{rng.randint(1, 12)}月{rng.randint(1, 28)}号"])


def zh_amount(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(9, 2999)}元", f"{rng.randint(9, 999)}.{rng.randint(0, 99):02d}元",
                       f"¥{rng.randint(9, 5999)}"])


def qty(rng: random.Random) -> str:
    return str(rng.randint(2, 12))


MAKERS = {
    "zh_name": zh_name, "zh_compound_name": zh_compound_name, "zh_name2": zh_name2, "zh_name3": zh_name3,
    "zh_single_surname": zh_single_surname, "en_name": en_name, "cn_mobile": cn_mobile, "zh_address": zh_address,
    "zh_order_no": zh_order_no, "tracking": tracking, "en_order_no": en_order_no, "zh_date": zh_date,
    "zh_amount": zh_amount, "qty": qty}

# --- templates: (lang, template, copies) -----------------------------------------------------------------------

ZH_NAME_TEMPLATES = [
    # the customer's own name, with a cue
    ("zh", "你好，我叫{PERSON:zh_name}，订单{=:zh_order_no}一直没发货。", 8),
    ("zh", "我是{PERSON:zh_name}，昨天打过电话的那个。", 7),
    ("zh", "本人{PERSON:zh_name}，申请退款，订单号{=:zh_order_no}。", 6),
    ("zh", "您好，我姓{PERSON:zh_single_surname}，{PERSON:zh_name}是我爱人，帮她查一下物流。", 3),
    ("zh", "我的名字是{PERSON:zh_name}，会员卡绑定的也是这个名字。", 5),
    ("zh", "我叫{PERSON:zh_compound_name}，复姓，别写错了。", 5),
    # the customer's own name, without a cue
    ("zh", "{PERSON:zh_name}，订单{=:zh_order_no}，东西坏了要换货。", 7),
    ("zh", "{PERSON:zh_name}，手机{PHONE:cn_mobile}，麻烦回个电话。", 6),
    ("zh", "退货人{PERSON:zh_name}，快递单号{=:tracking}。", 5),
    ("zh", "下单人写的{PERSON:zh_name}，不是我家里人的名字。", 4),
    # recipients
    ("zh", "收件人{PERSON:zh_name}，电话{PHONE:cn_mobile}，地址{ADDRESS:zh_address}。", 8),
    ("zh", "请寄给{PERSON:zh_name}，地址是{ADDRESS:zh_address}。", 7),
    ("zh", "这件礼物麻烦转交{PERSON:zh_name}，谢谢。", 6),
    ("zh", "收货人改成{PERSON:zh_name}吧，我那天不在家。", 7),
    ("zh", "帮我把发票抬头后面的联系人写成{PERSON:zh_name}。", 4),
    ("zh", "包裹放门卫那里，让{PERSON:zh_name}下班去拿。", 5),
    ("zh", "收件人：{PERSON:zh_name} {PHONE:cn_mobile}", 5),
    # a name at the start of a sentence
    ("zh", "{PERSON:zh_name}说快递没到，你们查一下。", 8),
    ("zh", "{PERSON:zh_name}昨天在你们店买了{=:qty}件衬衫。", 6),
    ("zh", "{PERSON:zh_name}的订单退款到账了吗？", 6),
    ("zh", "{PERSON:zh_name}要求开专票，金额{=:zh_amount}。", 4),
    # a name inside a sentence
    ("zh", "麻烦通知一下{PERSON:zh_name}明天来取件。", 8),
    ("zh", "我替{PERSON:zh_name}问一下，他的会员积分怎么清零了？", 6),
    ("zh", "上次接电话的是{PERSON:zh_name}，她说三天内处理。", 6),
    ("zh", "刚才和{PERSON:zh_name}确认过了，地址没问题。", 5),
    ("zh", "能不能让{PERSON:zh_name}直接联系我？", 5),
    ("zh", "账户是用{PERSON:zh_name}的身份证实名的。", 4),
    ("zh", "这单是帮同事{PERSON:zh_name}下的，发票开给公司。", 5),
    # full names before honorifics and titles, after titles
    ("zh", "{PERSON:zh_name}先生您好，您的退款已经处理。", 6),
    ("zh", "请问是{PERSON:zh_name}女士吗？您的快递到了。", 6),
    ("zh", "我找一下{PERSON:zh_name}经理，上周说好给我回电话的。", 5),
    ("zh", "投诉一下快递员{PERSON:zh_name}，态度太差了。", 5),
    ("zh", "客服{PERSON:zh_name}答应给我补发，到现在也没消息。", 5),
    ("zh", "维修师傅{PERSON:zh_name}下午两点上门。", 4),
    ("zh", "{PERSON:zh_name}老师让我来问一下教材的发货时间。", 3),
    # a surname alone before an honorific: the surname is labelled, not 先生/女士
    ("zh", "{PERSON:zh_single_surname}先生，您的订单已经发出。", 4),
    ("zh", "麻烦转告{PERSON:zh_single_surname}女士，包裹在前台。", 4),
    ("zh", "{PERSON:zh_single_surname}经理说可以退，你们怎么又不让退了？", 3),
    # two names in one sentence
    ("zh", "{PERSON:zh_name}和{PERSON:zh_name}都在这个地址收货。", 6),
    ("zh", "订单是{PERSON:zh_name}下的，收货人写的是{PERSON:zh_name}。", 6),
    ("zh", "我是{PERSON:zh_name}，帮我把收件人改成{PERSON:zh_name}。", 5),
    ("zh", "{PERSON:zh_name}说{PERSON:zh_name}已经签收了，可我们没收到。", 4),
    # compound surnames, two- and three-character names
    ("zh", "{PERSON:zh_compound_name}的包裹被退回了，为什么？", 5),
    ("zh", "收件人{PERSON:zh_compound_name}，请在工作日派送。", 5),
    ("zh", "请{PERSON:zh_name2}到服务台领取赠品。", 6),
    ("zh", "{PERSON:zh_name2}的快递在驿站放了三天了。", 5),
    ("zh", "麻烦联系{PERSON:zh_name3}，她是我们的采购。", 5),
    # next to phones, addresses and order numbers
    ("zh", "联系人{PERSON:zh_name}{PHONE:cn_mobile}，送到{ADDRESS:zh_address}。", 5),
    ("zh", "订单{=:zh_order_no}{PERSON:zh_name}，申请七天无理由退货。", 5),
    ("zh", "{ADDRESS:zh_address}，{PERSON:zh_name}收，电话{PHONE:cn_mobile}。", 5),
    ("zh", "{PHONE:cn_mobile}是{PERSON:zh_name}的号码，有事找她。", 4),
    ("zh", "{=:zh_date}那单是{PERSON:zh_name}签收的吗？", 4),
    # mixed Chinese and English
    ("zh", "Hi，我是{PERSON:zh_name}，my order还没到。", 5),
    ("zh", "请把package寄给{PERSON:zh_name}，thanks！", 5),
    ("zh", "{PERSON:zh_name}的refund什么时候到账？", 4),
    ("zh", "我的account名字是{PERSON:zh_name}，login不了。", 4),
    ("zh", "Please call {PERSON:zh_name}，电话{PHONE:cn_mobile}。", 4),
    ("zh", "{PERSON:zh_name} said the快递没到，please check。", 3),
]
EN_NAME_TEMPLATES = [
    ("en", "Ship it to {PERSON:en_name}.", 6),
    ("en", "{PERSON:en_name} called about the refund for order {=:en_order_no}.", 6),
    ("en", "Can {PERSON:en_name} pick it up tomorrow?", 6),
    ("en", "The parcel was signed for by {PERSON:en_name}, not me.", 5),
    ("en", "Please send the invoice to {PERSON:en_name} in accounts.", 5),
    ("en", "{PERSON:en_name} here, my card was charged twice.", 5),
    ("en", "Hand the keys to {PERSON:en_name} at the front desk.", 4),
    ("en", "I spoke with {PERSON:en_name} yesterday and she promised a replacement.", 5),
    ("en", "Is {PERSON:en_name} still handling my complaint?", 5),
    ("en", "Change the recipient to {PERSON:en_name}, please.", 5),
    ("en", "{PERSON:en_name} and {PERSON:en_name} both need access to the account.", 5),
    ("en", "Order {=:en_order_no} is for {PERSON:en_name}; please gift wrap it.", 5),
    ("en", "Your agent {PERSON:en_name} hung up on me.", 4),
    ("en", "Leave it with {PERSON:en_name} next door if nobody answers.", 4),
    ("en", "Refund it to {PERSON:en_name}'s card, not mine.", 4),
    ("en", "Dr. {PERSON:en_name} ordered the replacement lenses.", 3),
    ("en", "Ms. {PERSON:en_name} never received the package.", 3),
    ("en", "Thanks, {PERSON:en_name}, that fixed it!", 4),
    ("en", "Please tell {PERSON:en_name} the technician is running late.", 4),
    ("en", "Add {PERSON:en_name} as a second driver on the booking.", 4),
    ("en", "We moved, so {PERSON:en_name} will collect the order.", 4),
    ("en", "Has {PERSON:en_name} confirmed the new delivery slot?", 4),
]

CLEAN_TEMPLATES = [
    # words that start with a surname character
    ("zh", "收到货了，很高兴，质量不错。", 1),
    ("zh", "退款金额是{=:zh_amount}，怎么少了？", 2),
    ("zh", "周末能送货吗？{=:zh_date}之前要用。", 2),
    ("zh", "何时能发货？已经等了一个星期了。", 1),
    ("zh", "方便的话请下午送，上午家里没人。", 1),
    ("zh", "黄金手镯的克重和标签不一致。", 1),
    ("zh", "我马上要出门，快递放快递柜吧。", 1),
    ("zh", "朱古力蛋糕能不能换成芒果的？", 1),
    ("zh", "王牌套餐包含几次免费维修？", 1),
    ("zh", "李子有几个烂了，申请部分退款{=:zh_amount}。", 2),
    ("zh", "张贴在门口的取件码看不清楚。", 1),
    ("zh", "陈列样品可以打折卖给我吗？", 1),
    ("zh", "杨梅到的时候已经化冻了。", 1),
    ("zh", "黄色那款还有货吗？要{=:qty}件。", 2),
    ("zh", "周一到周五都可以签收。", 1),
    ("zh", "胡萝卜汁的保质期是多久？", 1),
    ("zh", "郑重提醒，下次再送错我就投诉了。", 1),
    ("zh", "谢谢，问题已经解决了。", 1),
    ("zh", "发票上的字体能改成宋体吗？", 1),
    ("zh", "许多商品都显示缺货，什么时候补？", 1),
    ("zh", "韩国直邮的面膜要几天到？", 1),
    ("zh", "曾经买过一次，这次的包装不一样。", 1),
    ("zh", "田园风的窗帘有没有更宽的尺寸？", 1),
    ("zh", "董事会决定的事我们管不了，我只想退货。", 1),
    ("zh", "于是我又下了一单，结果两单都没到。", 1),
    ("zh", "余额不足，换个方式付款可以吗？", 1),
    ("zh", "杜绝虚假发货，你们要给个说法。", 1),
    ("zh", "程序一直闪退，版本是最新的。", 1),
    ("zh", "苏打水整箱买有优惠吗？", 1),
    ("zh", "丁点儿划痕都不能有，这是送人的。", 1),
    ("zh", "任何时间送都行，有人在家。", 1),
    ("zh", "姜茶的冲泡方法写在哪里？", 1),
    ("zh", "钟表维修要寄回厂家吗？", 1),
    ("zh", "退货后积分会陆续退回吗？", 1),
    ("zh", "保修范围包括屏幕吗？", 1),
    ("zh", "金卡会员能再打九五折吗？", 1),
    ("zh", "夏天的被子什么时候上新？", 1),
    ("zh", "付款成功了，订单却显示待支付。", 1),
    ("zh", "白色的退了换黑色的，差价{=:zh_amount}。", 2),
    ("zh", "熊猫玩偶少发了{=:qty}个。", 2),
    ("zh", "雷达表的表带能单独买吗？", 1),
    ("zh", "水龙头漏水，安装师傅什么时候来？", 1),
    ("zh", "史上最慢的快递，{=:zh_date}下单到现在还没到。", 2),
    ("zh", "陶瓷杯碎了两个，照片已经上传。", 1),
    ("zh", "贺卡能不能手写祝福语？", 1),
    ("zh", "顾客至上不是口号吧？", 1),
    ("zh", "毛巾洗了一次就掉毛。", 1),
    ("zh", "万一不合适可以换吗？", 1),
    ("zh", "钱包里的卡套坏了，还在保修期。", 1),
    ("zh", "质量问题很严重，要求全额退款。", 1),
    ("zh", "莫名其妙被扣了{=:zh_amount}。", 2),
    ("zh", "向来都是顺丰发货，这次怎么换了？", 1),
    ("zh", "汤圆是冷冻发货吗？", 1),
    ("zh", "江湖救急，今天能不能送到？", 1),
    ("zh", "武汉仓什么时候发货？", 1),
    ("zh", "常温保存还是冷藏？", 1),
    # places and streets that start with a surname character
    ("zh", "我在王府井附近，能自提吗？", 1),
    ("zh", "张家界的酒店订单想改到{=:zh_date}。", 2),
    ("zh", "黄山景区门票能退吗？", 1),
    ("zh", "石家庄仓发出来的，单号{=:tracking}。", 2),
    ("zh", "金华到杭州一般要几天？", 1),
    ("zh", "周庄古镇的门票是电子票吗？", 1),
    ("zh", "潘家园那家门店还开着吗？", 1),
    ("zh", "曹杨路那个自提点关门了。", 1),
    ("zh", "黄浦江游船的票能改签吗？", 1),
    ("zh", "高新区现在能正常派送吗？", 1),
    ("zh", "江苏省内包邮吗？", 1),
    ("zh", "林芝那边能送到吗，运费多少？", 1),
    ("zh", "宋庄的画材店是你们的分店吗？", 1),
    ("zh", "常州发货还是苏州发货？", 1),
    ("zh", "马来西亚能直邮吗？", 1),
    ("zh", "罗马假日套餐还有名额吗？", 1),
    ("zh", "龙华区今天停派吗？", 1),
    ("zh", "华山路站附近有自提柜吗？", 1),
    # brands and products that look like names (the brand is not a person here)
    ("zh", "李宁的跑鞋尺码偏大吗？", 1),
    ("zh", "周大福的金条有回购服务吗？", 1),
    ("zh", "王老吉整箱发货能开发票吗？", 1),
    ("zh", "张小泉的剪刀有一把是坏的。", 1),
    ("zh", "周黑鸭的真空包装漏气了。", 1),
    ("zh", "老干妈少发了{=:qty}瓶。", 2),
    ("zh", "马应龙的药膏能退吗？", 1),
    ("zh", "海底捞的自热火锅过期了。", 1),
    ("zh", "华为手机的屏幕保修多久？", 1),
    ("zh", "金龙鱼的油桶压扁了。", 1),
    ("zh", "钟薛高的雪糕化了，申请退款。", 1),
    ("zh", "白象方便面是哪天生产的？", 1),
    ("zh", "双汇火腿肠的生产日期看不清。", 1),
    ("zh", "高露洁牙膏买一送一还有吗？", 1),
    ("zh", "万达影城的兑换券怎么用？", 1),
    ("zh", "江小白的礼盒有破损。", 1),
    # product names and models
    ("zh", "小米手环的充电线丢了，能单买吗？", 1),
    ("zh", "订单{=:zh_order_no}里的黄金搭档少了一盒。", 2),
    ("zh", "韩束的套装里少了乳液。", 1),
    ("zh", "金典牛奶整箱破了两盒。", 1),
    ("zh", "石头扫地机器人的滤网在哪买？", 1),
]


# --- assembly -----------------------------------------------------------------------------------------------------

def build() -> list[dict]:
    rng = random.Random(SEED)
    records, seen = [], set()
    for kind, templates in (("zh-name", ZH_NAME_TEMPLATES), ("en-name", EN_NAME_TEMPLATES),
                            ("clean", CLEAN_TEMPLATES)):
        for t_index, (lang, template, copies) in enumerate(templates):
            made, tries = 0, 0
            while made < copies:
                tries += 1
                assert tries < 1000, template
                text, spans = fill(rng, template, MAKERS.__getitem__)
                if text in seen:
                    continue
                assert kind != "clean" or not spans, template
                assert kind == "clean" or any(s["type"] == "PERSON" for s in spans), template
                seen.add(text)
                made += 1
                records.append({"text": text, "lang": lang, "spans": spans, "template": f"{kind}-{t_index}"})
    return split(records, SEED + 1, "names", SOURCE)


def main() -> None:
    write(build(), OUT, lambda r: r["template"].rsplit("-", 1)[0])


if __name__ == "__main__":
    main()
